package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// sameTime reports whether got is want, read back in UTC (zero stays zero).
func sameTime(got, want time.Time) bool {
	if want.IsZero() {
		return got.IsZero()
	}
	return got.Equal(want) && got.Location() == time.UTC
}

// budgetDiff describes how got differs from want, or returns "".
func budgetDiff(got, want store.BudgetState) string {
	switch {
	case got.Key != want.Key:
		return fmt.Sprintf("key %+v, want %+v", got.Key, want.Key)
	case got.Version != want.Version:
		return fmt.Sprintf("version %d, want %d", got.Version, want.Version)
	case !sameTime(got.LockedUntil, want.LockedUntil) || !sameTime(got.LockedAt, want.LockedAt) ||
		!sameTime(got.UpdatedAt, want.UpdatedAt):
		return fmt.Sprintf("times %v/%v/%v, want %v/%v/%v (UTC)", got.LockedUntil, got.LockedAt, got.UpdatedAt,
			want.LockedUntil, want.LockedAt, want.UpdatedAt)
	case got.Lockouts != want.Lockouts || got.LockoutID != want.LockoutID:
		return fmt.Sprintf("lockouts %d/%q, want %d/%q", got.Lockouts, got.LockoutID, want.Lockouts, want.LockoutID)
	case len(got.Failures) != len(want.Failures) || (want.Failures == nil) != (got.Failures == nil):
		return fmt.Sprintf("failures %v, want %v", got.Failures, want.Failures)
	case len(got.Typos) != len(want.Typos) || (want.Typos == nil) != (got.Typos == nil):
		return fmt.Sprintf("typos %v, want %v", got.Typos, want.Typos)
	}
	for i := range want.Failures {
		if !sameTime(got.Failures[i], want.Failures[i]) {
			return fmt.Sprintf("failure %d = %v, want %v (UTC)", i, got.Failures[i], want.Failures[i])
		}
	}
	for i := range want.Typos {
		if got.Typos[i].MAC != want.Typos[i].MAC || !sameTime(got.Typos[i].At, want.Typos[i].At) {
			return fmt.Sprintf("typo %d = %+v, want %+v (UTC)", i, got.Typos[i], want.Typos[i])
		}
	}
	return ""
}

func wantBudget(t *testing.T, s store.Store, want store.BudgetState, what string) {
	t.Helper()
	got, err := s.GetBudget(context.Background(), want.Key)
	must(t, err, what)
	if d := budgetDiff(got, want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// Budgets checks budget round trips, compare-and-swap, listing and that
// concurrent read-modify-write loops lose no update.
func Budgets(t *testing.T, newStore Factory) {
	t.Run("RoundTrip", func(t *testing.T) { budgetRoundTrip(t, newStore(t)) })
	t.Run("CompareAndSwap", func(t *testing.T) { budgetCAS(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { budgetList(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { budgetConcurrent(t, newStore(t)) })
}

func budgetRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	key := store.BudgetKey{TenantID: "t1", Subject: "user-1", Class: "familiarNetwork", Scope: "203.0.113.0/24"}
	empty, err := s.GetBudget(ctx, key)
	must(t, err, "GetBudget of unknown key")
	if d := budgetDiff(empty, store.BudgetState{Key: key}); d != "" {
		t.Fatalf("unknown budget is not the zero state with its key: %s", d)
	}
	paris := time.FixedZone("CET", 3600)
	st := store.BudgetState{
		Key:         key,
		Failures:    []time.Time{base, base.Add(time.Microsecond), base.Add(90 * time.Second).In(paris)},
		LockedUntil: base.Add(time.Hour), LockedAt: base.Add(2 * time.Minute), Lockouts: 3, LockoutID: "lock-1",
		Typos:     []store.Typo{{MAC: "aa01", At: base.Add(time.Second)}, {MAC: "bb02", At: base.Add(7 * time.Microsecond)}},
		UpdatedAt: base.Add(3 * time.Minute),
	}
	v, err := s.PutBudget(ctx, st)
	must(t, err, "PutBudget insert")
	if v != 1 {
		t.Fatalf("PutBudget insert returned version %d, want 1", v)
	}
	st.Version = 1
	wantBudget(t, s, st, "round trip")

	// Emptying the lists and times must read back as nil / zero.
	cleared := store.BudgetState{Key: key, Version: 1, UpdatedAt: base.Add(time.Hour)}
	v, err = s.PutBudget(ctx, cleared)
	must(t, err, "PutBudget with empty lists")
	cleared.Version = 2
	if v != 2 {
		t.Fatalf("PutBudget update returned version %d, want 2", v)
	}
	wantBudget(t, s, cleared, "emptied budget")

	// A key differing only in scope is a different budget.
	other := key
	other.Scope = "198.51.100.0/24"
	wantBudget(t, s, store.BudgetState{Key: other}, "budget with another scope")
}

func budgetCAS(t *testing.T, s store.Store) {
	ctx := context.Background()
	key := store.BudgetKey{TenantID: "t1", Subject: "user-1", Class: "unfamiliar"}
	first := store.BudgetState{Key: key, Failures: []time.Time{base}, UpdatedAt: base}
	_, err := s.PutBudget(ctx, first)
	must(t, err, "PutBudget insert")
	_, err = s.PutBudget(ctx, store.BudgetState{Key: key, Failures: []time.Time{base, base}})
	wantErr(t, err, store.ErrConflict, "second insert of one key")
	first.Version = 1
	wantBudget(t, s, first, "after rejected second insert")

	next := store.BudgetState{Key: key, Version: 1, Lockouts: 1, LockoutID: "L1", UpdatedAt: base.Add(time.Minute)}
	v, err := s.PutBudget(ctx, next)
	must(t, err, "PutBudget update")
	if v != 2 {
		t.Fatalf("update returned version %d, want 2", v)
	}
	stale := store.BudgetState{Key: key, Version: 1, Lockouts: 9, LockoutID: "stale"}
	_, err = s.PutBudget(ctx, stale)
	wantErr(t, err, store.ErrConflict, "update with a stale version")
	stale.Version = 7
	_, err = s.PutBudget(ctx, stale)
	wantErr(t, err, store.ErrConflict, "update with a future version")
	next.Version = 2
	wantBudget(t, s, next, "after rejected updates")

	for i := 3; i <= 5; i++ {
		next.Version = int64(i - 1)
		next.Lockouts = i
		if v, err = s.PutBudget(ctx, next); err != nil || v != int64(i) {
			t.Fatalf("update %d: version %d, err %v; want version %d", i, v, err, i)
		}
	}
	next.Version = 5
	wantBudget(t, s, next, "after successive updates")

	ghost := store.BudgetState{Key: store.BudgetKey{TenantID: "t1", Subject: "nobody", Class: "unfamiliar"}, Version: 1}
	_, err = s.PutBudget(ctx, ghost)
	wantErr(t, err, store.ErrConflict, "update of a budget never stored")
	wantBudget(t, s, store.BudgetState{Key: ghost.Key}, "budget after rejected update of missing key")
}

func budgetList(t *testing.T, s store.Store) {
	ctx := context.Background()
	keys := []store.BudgetKey{
		{TenantID: "t1", Subject: "alice", Class: "unfamiliar"},
		{TenantID: "t1", Subject: "alice", Class: "familiarNetwork", Scope: "198.51.100.0/24"},
		{TenantID: "t1", Subject: "alice", Class: "deviceCookie", Scope: "dev-2"},
		{TenantID: "t1", Subject: "alice", Class: "familiarNetwork", Scope: "192.0.2.0/24"},
		{TenantID: "t1", Subject: "alice", Class: "deviceCookie", Scope: "dev-1"},
		{TenantID: "t1", Subject: "bob", Class: "unfamiliar"},
		{TenantID: "t2", Subject: "alice", Class: "unfamiliar"},
	}
	for i, k := range keys {
		_, err := s.PutBudget(ctx, store.BudgetState{Key: k, Lockouts: i, UpdatedAt: base})
		must(t, err, "PutBudget "+k.String())
	}
	got, err := s.ListBudgets(ctx, "t1", "alice")
	must(t, err, "ListBudgets")
	want := []int{4, 2, 3, 1, 0} // indexes into keys, sorted by class then scope
	if len(got) != len(want) {
		t.Fatalf("ListBudgets returned %d budgets, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if d := budgetDiff(got[i], store.BudgetState{Key: keys[w], Version: 1, Lockouts: w, UpdatedAt: base}); d != "" {
			t.Fatalf("ListBudgets[%d]: %s", i, d)
		}
	}
	none, err := s.ListBudgets(ctx, "t1", "carol")
	must(t, err, "ListBudgets of a subject without budgets")
	if len(none) != 0 {
		t.Fatalf("ListBudgets of carol = %+v, want none", none)
	}
}

// budgetConcurrent runs read-modify-write loops on one key from many
// goroutines. Every loop appends one distinct failure; a non-atomic CAS
// would lose appends (fewer failures) or accept stale versions.
func budgetConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	key := store.BudgetKey{TenantID: "t1", Subject: "user-1", Class: "unfamiliar"}
	const workers, loops, maxTries = 20, 10, 10000
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range loops {
				at := base.Add(time.Duration(w*loops+i) * time.Millisecond)
				if err := appendFailure(ctx, s, key, at, maxTries); err != nil {
					errs <- fmt.Errorf("worker %d loop %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, err := s.GetBudget(ctx, key)
	must(t, err, "GetBudget")
	if st.Version != workers*loops || len(st.Failures) != workers*loops {
		t.Fatalf("after %d concurrent updates: version %d, %d failures", workers*loops, st.Version, len(st.Failures))
	}
	sort.Slice(st.Failures, func(i, j int) bool { return st.Failures[i].Before(st.Failures[j]) })
	for i, f := range st.Failures {
		if want := base.Add(time.Duration(i) * time.Millisecond); !f.Equal(want) {
			t.Fatalf("failure %d = %v, want %v (an update was lost or duplicated)", i, f, want)
		}
	}
}

func appendFailure(ctx context.Context, s store.Store, key store.BudgetKey, at time.Time, maxTries int) error {
	for range maxTries {
		st, err := s.GetBudget(ctx, key)
		if err != nil {
			return err
		}
		st.Failures = append(st.Failures, at)
		v, err := s.PutBudget(ctx, st)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		if v != st.Version+1 {
			return fmt.Errorf("PutBudget returned version %d after reading %d", v, st.Version)
		}
		return nil
	}
	return fmt.Errorf("still conflicting after %d tries", maxTries)
}

func lockoutDiff(got, want store.Lockout) string {
	g, w := got, want
	g.StartedAt, g.ExpiresAt, g.ClearedAt = time.Time{}, time.Time{}, time.Time{}
	w.StartedAt, w.ExpiresAt, w.ClearedAt = time.Time{}, time.Time{}, time.Time{}
	if g != w || !sameTime(got.StartedAt, want.StartedAt) || !sameTime(got.ExpiresAt, want.ExpiresAt) ||
		!sameTime(got.ClearedAt, want.ClearedAt) {
		return fmt.Sprintf("\n got %+v\nwant %+v", got, want)
	}
	return ""
}

func wantLockouts(t *testing.T, got []store.Lockout, want ...store.Lockout) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("ListLockouts returned %d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if d := lockoutDiff(got[i], want[i]); d != "" {
			t.Fatalf("ListLockouts[%d]: %s", i, d)
		}
	}
}

// Lockouts checks the audit records: round trip, newest-first order and
// limits, duplicate IDs and first-clear-wins.
func Lockouts(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	lk := func(id, tenant, subject string, started time.Time) store.Lockout {
		return store.Lockout{ID: id, TenantID: tenant, Subject: subject, Class: "unfamiliar", Scope: "",
			StartedAt: started, ExpiresAt: started.Add(time.Minute), FailureCount: 10, Reason: "threshold"}
	}
	oldest := lk("L1", "t1", "alice", base)
	oldest.Class, oldest.Scope, oldest.FailureCount = "deviceCookie", "dev-1", 5
	tieA, tieB := lk("L2", "t1", "alice", base.Add(time.Hour)), lk("L3", "t1", "alice", base.Add(time.Hour))
	newest := lk("L4", "t1", "alice", base.Add(2*time.Hour+time.Microsecond))
	newest.ClearedAt, newest.ClearedBy, newest.ClearedHow, newest.ClearReason = base.Add(3*time.Hour), "admin", "admin-unlock", "called helpdesk"
	for _, l := range []store.Lockout{tieA, newest, oldest, tieB, lk("L5", "t1", "bob", base), lk("L6", "t2", "alice", base)} {
		must(t, s.CreateLockout(ctx, l), "CreateLockout "+l.ID)
	}
	wantErr(t, s.CreateLockout(ctx, lk("L1", "t1", "alice", base.Add(9*time.Hour))), store.ErrConflict, "duplicate lockout ID")

	got, err := s.ListLockouts(ctx, "t1", "alice", 0)
	must(t, err, "ListLockouts")
	wantLockouts(t, got, newest, tieB, tieA, oldest)
	got, err = s.ListLockouts(ctx, "t1", "alice", 2)
	must(t, err, "ListLockouts limit 2")
	wantLockouts(t, got, newest, tieB)

	// First clear wins; a second clear succeeds and changes nothing.
	must(t, s.ClearLockout(ctx, "t1", "L2", base.Add(90*time.Minute), "admin", "admin-unlock", "verified"), "ClearLockout")
	must(t, s.ClearLockout(ctx, "t1", "L2", base.Add(5*time.Hour), "self", "password-reset", "sspr"), "second ClearLockout")
	must(t, s.ClearLockout(ctx, "t1", "L4", base.Add(5*time.Hour), "self", "password-reset", "sspr"), "clear of a lockout created cleared")
	tieA.ClearedAt, tieA.ClearedBy, tieA.ClearedHow, tieA.ClearReason = base.Add(90*time.Minute), "admin", "admin-unlock", "verified"
	wantErr(t, s.ClearLockout(ctx, "t1", "L9", base, "admin", "admin-unlock", ""), store.ErrNotFound, "clear of unknown lockout")
	wantErr(t, s.ClearLockout(ctx, "t2", "L3", base, "admin", "admin-unlock", ""), store.ErrNotFound, "clear through another tenant")
	got, err = s.ListLockouts(ctx, "t1", "alice", -1)
	must(t, err, "ListLockouts after clears")
	wantLockouts(t, got, newest, tieB, tieA, oldest)

	none, err := s.ListLockouts(ctx, "t1", "carol", 10)
	must(t, err, "ListLockouts of a subject without lockouts")
	if len(none) != 0 {
		t.Fatalf("ListLockouts of carol = %+v", none)
	}
	lockoutDefaultLimit(t, s)
}

// lockoutDefaultLimit checks that a limit <= 0 means 100, not "all".
func lockoutDefaultLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 101 {
		l := store.Lockout{ID: fmt.Sprintf("M%03d", i), TenantID: "t1", Subject: "dave", Class: "unfamiliar",
			StartedAt: base.Add(time.Duration(i) * time.Second), ExpiresAt: base.Add(time.Hour)}
		must(t, s.CreateLockout(ctx, l), "CreateLockout "+l.ID)
	}
	for _, limit := range []int{0, -5} {
		got, err := s.ListLockouts(ctx, "t1", "dave", limit)
		must(t, err, "ListLockouts default limit")
		if len(got) != 100 || got[0].ID != "M100" || got[99].ID != "M001" {
			t.Fatalf("ListLockouts(limit %d) = %d records, want the newest 100", limit, len(got))
		}
	}
}

// LockoutPolicies checks per-tenant policy storage.
func LockoutPolicies(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	tn := seedTenant(t, s, "contoso.test")
	other := seedTenant(t, s, "fabrikam.test")
	_, err := s.GetLockoutPolicy(ctx, tn.ID)
	wantErr(t, err, store.ErrNotFound, "policy never set")

	p := store.LockoutPolicy{Threshold: 10, Duration: 60 * time.Second, MaxDuration: 365 * 24 * time.Hour,
		ObservationWindow: 90*time.Minute + 1500*time.Microsecond, FamiliarNetworkDays: 14, DeviceCookieThreshold: 3}
	must(t, s.SetLockoutPolicy(ctx, tn.ID, p), "SetLockoutPolicy")
	got, err := s.GetLockoutPolicy(ctx, tn.ID)
	must(t, err, "GetLockoutPolicy")
	if got != p {
		t.Fatalf("policy round trip:\n got %+v\nwant %+v", got, p)
	}
	p2 := store.LockoutPolicy{Threshold: 5, Duration: 30 * time.Second, MaxDuration: time.Hour,
		ObservationWindow: time.Minute, FamiliarNetworkDays: 0, DeviceCookieThreshold: 0}
	must(t, s.SetLockoutPolicy(ctx, tn.ID, p2), "SetLockoutPolicy overwrite")
	if got, err = s.GetLockoutPolicy(ctx, tn.ID); err != nil || got != p2 {
		t.Fatalf("policy after upsert = %+v, %v; want %+v", got, err, p2)
	}
	_, err = s.GetLockoutPolicy(ctx, other.ID)
	wantErr(t, err, store.ErrNotFound, "policy of a tenant without one")
	wantErr(t, s.SetLockoutPolicy(ctx, newID(), p), store.ErrNotFound, "policy of unknown tenant")

	// UpdateLockoutPolicy: read-modify-write without lost updates.
	fresh := seedTenant(t, s, "tailspin.test")
	after, err := s.UpdateLockoutPolicy(ctx, fresh.ID, func(cur store.LockoutPolicy, found bool) (store.LockoutPolicy, error) {
		if found {
			t.Errorf("a tenant without a policy: found %+v", cur)
		}
		return p2, nil
	})
	if err != nil || after != p2 {
		t.Fatalf("first update = %+v, %v; want %+v", after, err, p2)
	}
	refusal := errors.New("version changed")
	if _, err := s.UpdateLockoutPolicy(ctx, fresh.ID, func(store.LockoutPolicy, bool) (store.LockoutPolicy, error) {
		return p, refusal
	}); !errors.Is(err, refusal) {
		t.Fatalf("a refusing update: %v, want its own error", err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.UpdateLockoutPolicy(ctx, fresh.ID, func(cur store.LockoutPolicy, _ bool) (store.LockoutPolicy, error) {
				cur.Threshold++
				return cur, nil
			}); err != nil {
				t.Errorf("concurrent update: %v", err)
			}
		})
	}
	wg.Wait()
	if got, err := s.GetLockoutPolicy(ctx, fresh.ID); err != nil || got.Threshold != p2.Threshold+8 {
		t.Fatalf("after 8 concurrent increments: %+v, %v; want threshold %d", got, err, p2.Threshold+8)
	}
	_, err = s.UpdateLockoutPolicy(ctx, newID(), func(cur store.LockoutPolicy, _ bool) (store.LockoutPolicy, error) { return p, nil })
	wantErr(t, err, store.ErrNotFound, "update of an unknown tenant's policy")
}

// FamiliarNetworks checks that the last success only moves forward and that
// unknown networks read as the zero time.
func FamiliarNetworks(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	check := func(tenant, user, prefix string, want time.Time, what string) {
		t.Helper()
		got, err := s.NetworkLastSuccess(ctx, tenant, user, prefix)
		must(t, err, what)
		if !sameTime(got, want) {
			t.Fatalf("%s: last success %v, want %v (UTC)", what, got, want)
		}
	}
	check("t1", "alice", "203.0.113.0/24", time.Time{}, "unknown network")
	t1 := base.Add(time.Hour + time.Microsecond)
	must(t, s.TouchNetwork(ctx, "t1", "alice", "203.0.113.0/24", t1.In(time.FixedZone("PST", -8*3600))), "TouchNetwork")
	check("t1", "alice", "203.0.113.0/24", t1, "after first touch")
	must(t, s.TouchNetwork(ctx, "t1", "alice", "203.0.113.0/24", base), "TouchNetwork older")
	check("t1", "alice", "203.0.113.0/24", t1, "older touch must not move it back")
	t2 := t1.Add(24 * time.Hour)
	must(t, s.TouchNetwork(ctx, "t1", "alice", "203.0.113.0/24", t2), "TouchNetwork newer")
	check("t1", "alice", "203.0.113.0/24", t2, "after newer touch")
	check("t1", "alice", "198.51.100.0/24", time.Time{}, "another prefix")
	check("t1", "bob", "203.0.113.0/24", time.Time{}, "another user")
	check("t2", "alice", "203.0.113.0/24", time.Time{}, "another tenant")

	// RecentNetworks: newest first, only since the cutoff, only this user,
	// at most limit.
	must(t, s.TouchNetwork(ctx, "t1", "alice", "198.51.100.0/24", t1), "TouchNetwork second network")
	must(t, s.TouchNetwork(ctx, "t1", "alice", "2001:db8::/64", base), "TouchNetwork old network")
	must(t, s.TouchNetwork(ctx, "t1", "bob", "192.0.2.0/24", t2), "TouchNetwork other user")
	recent, err := s.RecentNetworks(ctx, "t1", "alice", t1, 10)
	must(t, err, "RecentNetworks")
	want := []store.NetworkUse{{Prefix: "203.0.113.0/24", LastSuccess: t2}, {Prefix: "198.51.100.0/24", LastSuccess: t1}}
	if len(recent) != len(want) {
		t.Fatalf("RecentNetworks = %+v, want %+v", recent, want)
	}
	for i := range want {
		if recent[i].Prefix != want[i].Prefix || !sameTime(recent[i].LastSuccess, want[i].LastSuccess) {
			t.Fatalf("RecentNetworks[%d] = %+v, want %+v", i, recent[i], want[i])
		}
	}
	if one, err := s.RecentNetworks(ctx, "t1", "alice", base, 1); err != nil || len(one) != 1 || one[0].Prefix != "203.0.113.0/24" {
		t.Fatalf("RecentNetworks limit 1 = %+v, %v", one, err)
	}
	if none, err := s.RecentNetworks(ctx, "t1", "carol", base, 10); err != nil || len(none) != 0 {
		t.Fatalf("RecentNetworks of a user without networks = %+v, %v", none, err)
	}
}
