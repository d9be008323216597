package redisstore_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/redisstore"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// TestSharedGuardsKeepTheThreshold: two guards, as two instances, share
// the budgets in Redis. 60 concurrent wrong passwords for one account,
// spread over both, get at most threshold verifications in all (the
// reservations are in the shared budget, not in each process), and the
// lock one instance takes refuses the right password on the other at once.
func TestSharedGuardsKeepTheThreshold(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	db, prefix := sharedFixture(t, rdb)
	shared := withRedisBudgets{DB: db, budgets: redisstore.NewBudgets(rdb, prefix)}
	params := password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	hash, err := password.Hash("right", params)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := db.CreateTenant(ctx, store.Tenant{ID: "t", DisplayName: "Contoso", Domains: []string{"contoso.test"}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	user := store.User{ID: "u1", TenantID: "t", UserPrincipalName: "alice@contoso.test", LoginKey: "alice@contoso.test",
		DisplayName: "Alice", PasswordHash: hash, AccountEnabled: true, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUsers(ctx, user); err != nil {
		t.Fatal(err)
	}
	policy := store.LockoutPolicy{Threshold: 3, Duration: time.Minute, MaxDuration: time.Hour, ObservationWindow: time.Hour,
		DeviceCookieThreshold: 2}
	instances := make([]*guard.Guard, 2)
	for i := range instances {
		instances[i], err = guard.New(ctx, guard.Config{Store: shared, Pool: hashpool.New(4, 100, 10*time.Second, nil),
			Params: params, DefaultPolicy: policy, UnknownNameSlots: 1024, Shared: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	var verified atomic.Int32
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			out, err := instances[i%2].CheckPassword(ctx, guard.Attempt{TenantID: "t", User: &user, LoginKey: user.LoginKey,
				Password: fmt.Sprint("guess-", i), ClientIP: netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", i+1))})
			if err != nil {
				t.Errorf("attempt %d: %v", i, err)
			}
			if out.Verified {
				verified.Add(1)
			}
		})
	}
	wg.Wait()
	if n := verified.Load(); n > int32(policy.Threshold) || n == 0 {
		t.Fatalf("%d verifications across the two instances, want 1 to %d", n, policy.Threshold)
	}
	for i, g := range instances {
		out, err := g.CheckPassword(ctx, guard.Attempt{TenantID: "t", User: &user, LoginKey: user.LoginKey, Password: "right",
			ClientIP: netip.MustParseAddr("198.51.100.1")})
		if err != nil || out.Decision != guard.DecisionLocked {
			t.Fatalf("instance %d after the lock: %+v, %v", i, out, err)
		}
	}
	budgets, err := shared.ListBudgets(ctx, "t", "u1")
	if err != nil || len(budgets) != 1 || len(budgets[0].Reservations) != 0 {
		t.Fatalf("budgets after the attempts settled: %+v, %v (no reservation may be left)", budgets, err)
	}
	// The budget is forgotten when it stops mattering: a window after the
	// lock ends (so attack-made names cannot pile up in Redis).
	keys, err := rdb.Keys(ctx, prefix+"budget:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("budget keys: %v %v", keys, err)
	}
	until := time.Until(budgets[0].LockedUntil.Add(policy.ObservationWindow))
	if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > until+time.Second || ttl < until-time.Minute {
		t.Fatalf("budget key expires in %v, want about %v (lock end plus the observation window)", ttl, until)
	}
}

// TestSharedDetectionSeesTheWholeSpray: a password spray from one address
// spread over two instances, two accounts on each. With the detection
// windows in Redis the instances count the four accounts together and
// exactly one block is recorded; with per-instance windows (the control)
// each sees two accounts, under the threshold of three, and nothing is
// blocked.
func TestSharedDetectionSeesTheWholeSpray(t *testing.T) {
	rdb := testRedis(t)
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprint("shared=", shared), func(t *testing.T) {
			ctx := context.Background()
			db, prefix := sharedFixture(t, rdb)
			var windows store.DetectionWindows
			if shared {
				windows = redisstore.NewDetection(rdb, prefix)
			}
			detection := guard.DetectionPolicy{Window: 10 * time.Minute, SprayAccounts: 3, SprayMaxPerAccount: 2,
				StuffingUnknown: 100, StuffingFailureRatio: 0.9, VelocityFailures: 1000, PrefixMultiplier: 4,
				BlockDuration: time.Hour, MaxBlockDuration: 24 * time.Hour, TrackedSources: 1000}
			policy := store.LockoutPolicy{Threshold: 10, Duration: time.Minute, MaxDuration: time.Hour, ObservationWindow: time.Hour,
				DeviceCookieThreshold: 2}
			instances := make([]*guard.Guard, 2)
			for i := range instances {
				var err error
				instances[i], err = guard.New(ctx, guard.Config{Store: withRedisBudgets{DB: db, budgets: redisstore.NewBudgets(rdb, prefix)},
					Pool: hashpool.New(2, 100, 10*time.Second, nil), Params: password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1},
					DefaultPolicy: policy, UnknownNameSlots: 1024, Shared: true, Detection: detection, DetectionWindows: windows})
				if err != nil {
					t.Fatal(err)
				}
			}
			for i, name := range []string{"a@contoso.test", "b@contoso.test", "c@contoso.test", "d@contoso.test"} {
				if _, err := instances[i%2].CheckPassword(ctx, guard.Attempt{TenantID: "t", LoginKey: name, Password: "Winter2026!",
					ClientIP: netip.MustParseAddr("192.0.2.66")}); err != nil {
					t.Fatal(err)
				}
			}
			blocks, err := db.ListIPBlocks(ctx, true, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if shared {
				want = 1
			}
			if len(blocks) != want || (want == 1 && (blocks[0].Rule != guard.RuleSpray || blocks[0].Prefix != "192.0.2.66/32")) {
				t.Fatalf("blocks after a spray over two instances: %+v, want %d spray block of 192.0.2.66/32", blocks, want)
			}
		})
	}
}

// sharedFixture is a SQLite store of its own and a Redis key prefix of its
// own, whose keys are deleted when the test ends.
func sharedFixture(t *testing.T, rdb redis.UniversalClient) (*sqlstore.DB, string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), sqlstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	prefix := "portcullis-test:" + uuid.NewString() + ":"
	t.Cleanup(func() {
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return db, prefix
}
