package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// instance is a `portcullis serve` process.
type instance struct{ base, tenant string }

func (in instance) post(t *testing.T, path string, form url.Values, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", in.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func (in instance) signIn(t *testing.T, user, pw, from string) (int, string) {
	t.Helper()
	return in.post(t, "/"+in.tenant+"/oauth2/v2.0/token", passwordForm(user, pw), "X-Forwarded-For", from)
}

// TestThreeProcessesShareLockout runs three `portcullis serve` processes
// on one data directory and one Redis (state.type redis), as instances
// behind a load balancer on one host. 600 concurrent wrong passwords for
// one account spread over the three are verified at most threshold times;
// the lock is enforced by all three at once; an administrator's unlock
// through one clears it on all; the sign-in log has every attempt exactly
// once; an address a detection blocks on one is refused by the others
// within their 2-second poll of the block list.
func TestThreeProcessesShareLockout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three real processes")
	}
	redis := redisURL(t)
	dir := t.TempDir()
	ctx := context.Background()
	cfg := fastConfig(t)
	cfg.DataDir = dir
	db, err := app.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.Initialise(ctx, db, cfg, app.InitOptions{Domain: "contoso.test", AdminPassword: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := app.DirectoryService(db, cfg).AddUser(ctx, res.Tenant, directory.NewUser{UserPrincipalName: "bob@contoso.test",
		DisplayName: "Bob", Password: alicePassword, AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	env := []string{"PORTCULLIS_STATE__TYPE=redis", "PORTCULLIS_STATE__URL=" + redis, "PORTCULLIS_TRUSTED_PROXIES=127.0.0.1",
		"PORTCULLIS_LOCKOUT__THRESHOLD=3", "PORTCULLIS_DETECTION__REPORT_ONLY=false", "PORTCULLIS_DETECTION__SPRAY_ACCOUNTS=3",
		"PORTCULLIS_PASSWORDS__HASH_QUEUE=600"}
	var insts []instance
	for range 3 {
		_, base := startProcess(t, dir, env...)
		insts = append(insts, instance{base: base, tenant: res.Tenant.ID})
	}

	var wg sync.WaitGroup
	for i := range 600 {
		wg.Go(func() {
			insts[i%3].signIn(t, "bob@contoso.test", fmt.Sprint("guess-", i), fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256+1))
		})
	}
	wg.Wait()
	for i, in := range insts {
		if code, body := in.signIn(t, "bob@contoso.test", alicePassword, "198.51.100.9"); code != http.StatusBadRequest ||
			!strings.Contains(body, "AADSTS50053") {
			t.Fatalf("instance %d during the lock: %d %s", i, code, body)
		}
	}
	records := bobRecords(t, dir, res.Tenant.ID, bob.ID)
	verified, ids := 0, map[string]bool{}
	for _, r := range records {
		ids[r.ID] = true
		if r.Protection != nil && r.Protection.PasswordCorrect != nil {
			verified++
		}
	}
	if len(records) != 603 || len(ids) != 603 || verified == 0 || verified > 3 {
		t.Fatalf("%d records (%d distinct; want 603: 600 attempts and 3 checks), %d verified (want 1 to 3)", len(records), len(ids), verified)
	}

	_, tokBody := insts[0].post(t, "/"+res.Tenant.ID+"/oauth2/v2.0/token", passwordForm("admin@contoso.test", adminPassword))
	var token struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(tokBody), &token); err != nil || token.AccessToken == "" {
		t.Fatalf("admin sign-in: %s", tokBody)
	}
	tok := token.AccessToken
	req, _ := http.NewRequest("POST", insts[0].base+"/v1.0/portcullis/users/"+bob.ID+"/lockout/unlock", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unlock through the first instance: %v %v", resp, err)
	}
	if code, body := insts[2].signIn(t, "bob@contoso.test", alicePassword, "198.51.100.9"); code != http.StatusOK {
		t.Fatalf("the third instance after the unlock on the first: %d %s", code, body)
	}

	// A spray from one address, seen by the first instance only.
	for _, name := range []string{"x1", "x2", "x3", "x4"} {
		insts[0].signIn(t, name+"@contoso.test", "Winter2026!", "192.0.2.66")
	}
	deadline := time.Now().Add(5 * time.Second) // the others poll the block list every 2 s
	for {
		code, body := insts[1].signIn(t, "bob@contoso.test", alicePassword, "192.0.2.66")
		if code == http.StatusBadRequest && strings.Contains(body, "AADSTS50053") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second instance still lets the spraying address in: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func bobRecords(t *testing.T, dir, tenantID, userID string) []signinlog.Record {
	t.Helper()
	db, err := app.OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	where, err := odata.Parse("userId eq '"+userID+"'", store.SignInSchema)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.FindSignIns(context.Background(), store.SignInFilter{TenantID: tenantID, Limit: 1000, Where: where})
	if err != nil {
		t.Fatal(err)
	}
	var out []signinlog.Record
	for _, row := range rows {
		r, err := signinlog.FromRow(row)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
