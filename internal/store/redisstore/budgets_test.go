package redisstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/redisstore"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
	"github.com/portcullis-idp/portcullis/internal/store/storetest"
)

// testRedis connects to the Redis the machine runs (TEST_REDIS_URL,
// default redis://127.0.0.1:6379/0). Without one the test is skipped, and
// fails under CI=true, where .ci/run provides it.
func testRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		rdb.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s: %v (CI=true: .ci/run starts it)", url, err)
		}
		t.Skipf("no Redis at %s: %v", url, err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// withRedisBudgets is a store whose budgets live in Redis and everything
// else in SQLite, as a deployment with state.type=redis has them.
type withRedisBudgets struct {
	*sqlstore.DB
	budgets *redisstore.Budgets
}

func (s withRedisBudgets) GetBudget(ctx context.Context, k store.BudgetKey) (store.BudgetState, error) {
	return s.budgets.GetBudget(ctx, k)
}

func (s withRedisBudgets) PutBudget(ctx context.Context, st store.BudgetState) (int64, error) {
	return s.budgets.PutBudget(ctx, st)
}

func (s withRedisBudgets) ListBudgets(ctx context.Context, tenantID, subject string) ([]store.BudgetState, error) {
	return s.budgets.ListBudgets(ctx, tenantID, subject)
}

// TestBudgetsConformance runs the budget suite the SQLite store passes
// (round trip, compare-and-swap, listing, concurrent updates with no lost
// failure) against real Redis. Each test has its own key prefix, removed
// afterwards.
func TestBudgetsConformance(t *testing.T) {
	rdb := testRedis(t)
	storetest.Budgets(t, func(t *testing.T) store.Store {
		db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), sqlstore.FileName))
		if err != nil {
			t.Fatal(err)
		}
		prefix := "portcullis-test:" + uuid.NewString() + ":"
		t.Cleanup(func() {
			db.Close()
			ctx := context.Background()
			iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
		})
		return withRedisBudgets{DB: db, budgets: redisstore.NewBudgets(rdb, prefix)}
	})
}
