package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/redisstore"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// redisKeyPrefix namespaces Portcullis's keys in a Redis it may share.
const redisKeyPrefix = "portcullis:"

// sharedBudgets is the guard's store when state.type is redis: budgets
// (with their verification slots) in Redis, everything else in the
// database.
type sharedBudgets struct {
	*sqlstore.DB
	budgets *redisstore.Budgets
}

func (s sharedBudgets) GetBudget(ctx context.Context, k store.BudgetKey) (store.BudgetState, error) {
	return s.budgets.GetBudget(ctx, k)
}

func (s sharedBudgets) PutBudget(ctx context.Context, st store.BudgetState) (int64, error) {
	return s.budgets.PutBudget(ctx, st)
}

func (s sharedBudgets) ListBudgets(ctx context.Context, tenantID, subject string) ([]store.BudgetState, error) {
	return s.budgets.ListBudgets(ctx, tenantID, subject)
}

// guardState is what the guard stores through, whether it is shared with
// other instances, and a check of the shared backend for /readyz (nil for
// local state) and its closer.
type guardState struct {
	store  guard.Store
	shared bool
	detect store.DetectionWindows // nil for local state
	ping   func(context.Context) error
	close  func() error
}

// openGuardState connects to Redis for state.type redis (failing start-up
// with a clear error when it cannot be reached), or keeps the database.
func openGuardState(ctx context.Context, cfg config.Config, db *sqlstore.DB) (guardState, error) {
	if cfg.State.Type != "redis" {
		return guardState{store: db, close: func() error { return nil }}, nil
	}
	opts, err := redis.ParseURL(cfg.State.URL)
	if err != nil {
		return guardState{}, fmt.Errorf("state.url: %w", err)
	}
	// Fail fast while Redis is down: one quick dial per operation, so an
	// outage costs a sign-in milliseconds, and the guard's own policy
	// (state.on_unavailable) decides what happens.
	opts.DialTimeout, opts.DialerRetries, opts.DialerRetryTimeout, opts.MaxRetries = 500*time.Millisecond, 1, 50*time.Millisecond, 1
	redis.SetLogger(redisLog{})
	rdb := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		rdb.Close()
		return guardState{}, fmt.Errorf("state.type redis: cannot reach %s: %w", opts.Addr, err)
	}
	// Detection windows are keyed by address, not by tenant: a namespace
	// kept in the database keeps deployments that share one Redis apart,
	// while the instances of one deployment (one database) share it.
	ns, err := db.Secret(ctx, "redis-namespace", func() ([]byte, error) {
		b := make([]byte, 6)
		_, err := rand.Read(b)
		return []byte(hex.EncodeToString(b)), err
	})
	if err != nil {
		rdb.Close()
		return guardState{}, err
	}
	return guardState{store: sharedBudgets{DB: db, budgets: redisstore.NewBudgets(rdb, redisKeyPrefix)}, shared: true,
		detect: redisstore.NewDetection(rdb, redisKeyPrefix+string(ns)+":"),
		ping:   func(ctx context.Context) error { return rdb.Ping(ctx).Err() }, close: rdb.Close}, nil
}

// redisLog drops the client library's own log lines (one per failed dial):
// the guard logs an outage once every 10 seconds in its own words.
type redisLog struct{}

func (redisLog) Printf(context.Context, string, ...any) {}
