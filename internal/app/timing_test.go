package app_test

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestUnknownUserCostsTheSame compares median latencies of a wrong password,
// an unknown user and a disabled account (wrong and right password). With
// the default argon2id parameters a skipped or extra hash moves the median
// by a whole hash (~20-40 ms), outside the tolerance of half (skipped) or
// three quarters (extra) of a hash measured in the same rounds; the check
// against a raw verification proves the dummy hash really runs.
func TestUnknownUserCostsTheSame(t *testing.T) {
	if testing.Short() {
		t.Skip("timing comparison takes a few seconds")
	}
	params := password.DefaultParams()
	ts := startServer(t, func(c *config.Config) {
		c.Passwords.Argon2 = config.Argon2{MemoryKiB: params.MemoryKiB, Iterations: params.Iterations, Parallelism: params.Parallelism}
	})
	// alice and dave were created with the fast test parameters; give them
	// default-cost hashes so every path verifies at the same cost.
	for _, u := range []string{"alice@contoso.test", "dave@contoso.test"} {
		user, err := ts.dir.FindUser(t.Context(), ts.tenant, u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.dir.SetPassword(t.Context(), user, alicePassword, false); err != nil {
			t.Fatal(err)
		}
	}
	kinds := []struct {
		name string
		form url.Values
	}{
		{"wrong password", passwordForm("alice@contoso.test", "wrong password 1")},
		{"unknown user", passwordForm("nobody@contoso.test", "wrong password 1")},
		{"unknown domain", passwordForm("nobody@fabrikam.test", "wrong password 1")},
		{"disabled, wrong password", passwordForm("dave@contoso.test", "wrong password 1")},
		{"disabled, right password", passwordForm("dave@contoso.test", alicePassword)},
	}
	const rounds = 15
	samples := make([][]time.Duration, len(kinds))
	var rawHash []time.Duration // one bare verification per round, same conditions
	h, _ := password.Hash("x", params)
	keys := make([][]string, len(kinds))
	for range rounds {
		start := time.Now()
		_, _ = password.Verify(h, "y")
		rawHash = append(rawHash, time.Since(start))
		// Interleaved in a fresh random order each round: drift, and the
		// garbage collector's work left by earlier hashes (19 MiB each), hit
		// every kind alike instead of whichever follows the heaviest request.
		for _, i := range rand.Perm(len(kinds)) {
			k := kinds[i]
			start := time.Now()
			r := ts.token(k.form)
			samples[i] = append(samples[i], time.Since(start))
			if r.status != 400 {
				t.Fatalf("%s: status %d", k.name, r.status)
			}
			if keys[i] == nil {
				keys[i] = sortedKeys(r.body)
			}
		}
	}
	for i := range keys {
		if !slices.Equal(keys[i], keys[0]) {
			t.Fatalf("%s body fields %v differ from %v", kinds[i].name, keys[i], keys[0])
		}
	}
	oneHash := median(rawHash)
	if testing.Verbose() {
		for _, r := range ts.signIns(store.SignInQuery{Limit: 10}) {
			t.Logf("%s %s %dms queue %.1fms", r.UserPrincipalName, r.Protection.Decision, r.ProcessingTimeInMilliseconds, r.Protection.HashQueueMilliseconds)
		}
	}
	base := median(samples[0])
	for i, k := range kinds {
		m := median(samples[i])
		t.Logf("%-26s median %v", k.name, m)
		if m < oneHash/2 {
			t.Errorf("%s: median %v is below half a hash (%v): the hash was skipped", k.name, m, oneHash)
		}
		// What gives an account away is a hash skipped (half a hash faster
		// at least) or an extra one (most of a hash slower). Bounds in hashes,
		// measured alongside, hold on a loaded machine where a percentage of
		// the request time does not.
		if m < base-oneHash/2 || m > base+oneHash*3/4 {
			t.Errorf("%s: median %v is off the wrong-password median %v by a hash or more (one hash: %v)", k.name, m, base, oneHash)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
