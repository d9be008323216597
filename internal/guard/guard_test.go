package guard

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/events"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

var fastParams = password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

const tenantID = "00000000-0000-4000-8000-00000000aaaa"

var testPolicy = store.LockoutPolicy{Threshold: 3, Duration: time.Minute, MaxDuration: 10 * time.Minute,
	ObservationWindow: time.Hour, FamiliarNetworkDays: 30, DeviceCookieThreshold: 2}

// fixture is a guard on a real SQLite store with a settable clock.
type fixture struct {
	g     *Guard
	db    *sqlstore.DB
	bus   *events.Bus
	mu    sync.Mutex
	clock time.Time
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

func newFixture(t testing.TB, trusted ...netip.Prefix) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, bus: events.NewBus(), clock: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	f.g, err = New(ctx, Config{Store: db, Pool: hashpool.New(2, 10000, time.Minute, nil), Params: fastParams,
		DefaultPolicy: testPolicy, TrustedLocations: trusted, UnknownNameSlots: 4096, Events: f.bus, Now: f.now, CacheTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var userSeq int

// fatalf is the part of testing.TB and *rapid.T the helpers need.
type fatalf interface{ Fatalf(string, ...any) }

func (f *fixture) user(t fatalf, pw string) store.User {
	h, err := password.Hash(pw, fastParams)
	if err != nil {
		t.Fatalf("%v", err)
	}
	userSeq++
	return store.User{ID: fmt.Sprintf("10000000-0000-4000-8000-%012d", userSeq), TenantID: tenantID,
		UserPrincipalName: fmt.Sprintf("u%d@contoso.test", userSeq), LoginKey: fmt.Sprintf("u%d@contoso.test", userSeq),
		AccountEnabled: true, PasswordHash: h}
}

func (f *fixture) try(t testing.TB, u *store.User, name, pw string, ip string) Outcome {
	t.Helper()
	a := Attempt{TenantID: tenantID, User: u, LoginKey: name, Password: pw}
	if ip != "" {
		a.ClientIP = netip.MustParseAddr(ip)
	}
	out, err := f.g.CheckPassword(context.Background(), a)
	if err != nil {
		t.Fatalf("CheckPassword: %v", err)
	}
	return out
}

func TestLockAfterThresholdAndEscalation(t *testing.T) {
	f := newFixture(t)
	locked, stop := f.bus.Subscribe(10)
	defer stop()
	u := f.user(t, "right")
	for i := range 3 {
		out := f.try(t, &u, u.LoginKey, fmt.Sprint("wrong", i), "")
		if out.Decision != DecisionVerified || out.Correct || out.LockedNow != (i == 2) {
			t.Fatalf("attempt %d: %+v", i, out)
		}
	}
	if out := f.try(t, &u, u.LoginKey, "right", ""); out.Decision != DecisionLocked || out.Verified {
		t.Fatalf("correct password while locked was not refused: %+v", out)
	}
	e := <-locked
	if e.Type != events.AccountLocked || e.UserID != u.ID || e.Details["class"] != ClassUnfamiliar {
		t.Fatalf("event = %+v", e)
	}
	f.advance(time.Minute)
	// One attempt after expiry; a failure re-locks for twice as long.
	if out := f.try(t, &u, u.LoginKey, "wrong-again", ""); !out.LockedNow || out.LockedUntil.Sub(f.now()) != 2*time.Minute || out.Lockouts != 2 {
		t.Fatalf("second lock: %+v", out)
	}
	f.advance(2 * time.Minute)
	if out := f.try(t, &u, u.LoginKey, "right", ""); !out.Correct {
		t.Fatalf("correct password after expiry: %+v", out)
	}
	lockouts, err := f.db.ListLockouts(context.Background(), tenantID, u.ID, 10)
	if err != nil || len(lockouts) != 2 || lockouts[1].FailureCount != 3 || lockouts[0].ExpiresAt.Sub(lockouts[0].StartedAt) != 2*time.Minute {
		t.Fatalf("lockout records = %+v, %v", lockouts, err)
	}
}

func TestLockDurationCapped(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 40: 10 * time.Minute} {
		if got := lockDuration(testPolicy, n); got != want {
			t.Errorf("lockDuration(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestRepeatedTypoDoesNotCount(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "right")
	for range 10 {
		if out := f.try(t, &u, u.LoginKey, "rigth", ""); out.Correct || out.Decision == DecisionLocked {
			t.Fatalf("repeated typo locked the account: %+v", out)
		}
	}
	if out := f.try(t, &u, u.LoginKey, "right", ""); !out.Correct || out.Failures != 0 {
		t.Fatalf("correct password after typos: %+v", out)
	}
	// A typo remembered before a password change is forgotten by it.
	f.try(t, &u, u.LoginKey, "next-password", "")
	f.advance(time.Second)
	h, _ := password.Hash("next-password", fastParams)
	u.PasswordHash, u.LastPasswordChangeDateTime = h, f.now()
	f.advance(time.Second)
	if out := f.try(t, &u, u.LoginKey, "next-password", ""); !out.Correct {
		t.Fatalf("new password equal to an old typo was refused: %+v", out)
	}
}

func TestObservationWindowForgetsFailures(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "right")
	f.try(t, &u, u.LoginKey, "w1", "")
	f.try(t, &u, u.LoginKey, "w2", "")
	f.advance(time.Hour)
	if out := f.try(t, &u, u.LoginKey, "w3", ""); out.LockedNow || out.Failures != 1 {
		t.Fatalf("failures older than the window still counted: %+v", out)
	}
}

func TestUnlockClearsEverything(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "right")
	for i := range 3 {
		f.try(t, &u, u.LoginKey, fmt.Sprint("w", i), "")
	}
	n, err := f.g.Unlock(context.Background(), tenantID, u, "admin@contoso.test", "verified by phone")
	if err != nil || n != 1 {
		t.Fatalf("Unlock = %d, %v", n, err)
	}
	if out := f.try(t, &u, u.LoginKey, "right", ""); !out.Correct {
		t.Fatalf("after unlock: %+v", out)
	}
	st, err := f.g.Status(context.Background(), tenantID, u.ID)
	if err != nil || st.Locked || len(st.Lockouts) != 1 || st.Lockouts[0].ClearedBy != "admin@contoso.test" ||
		st.Lockouts[0].ClearedHow != "admin-unlock" || st.Lockouts[0].ClearReason != "verified by phone" {
		t.Fatalf("status after unlock = %+v, %v", st, err)
	}
	if st.Budgets[0].Lockouts != 0 {
		t.Fatalf("unlock kept the escalation: %+v", st.Budgets[0])
	}
}

func keyFor(name string) store.BudgetKey {
	return store.BudgetKey{TenantID: tenantID, Subject: "x:" + name, Class: ClassUnfamiliar}
}
