// Package redisstore keeps the state several Portcullis instances must
// share atomically in Redis (or Valkey): lockout budgets first, each
// compare-and-swap done by a Lua script so no instance can lose another's
// update. The database (SQLite or PostgreSQL) keeps everything else.
package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Budgets implements store.Budgets in Redis. All budgets of one subject
// live in one hash (so listing them is one read and a script touches one
// key): field "s|class|scope" holds the state as JSON, "v|class|scope" its
// version.
type Budgets struct {
	rdb    redis.UniversalClient
	prefix string // namespaces the keys: several deployments may share a server
}

// NewBudgets returns budgets stored in rdb under keys starting with prefix.
func NewBudgets(rdb redis.UniversalClient, prefix string) *Budgets {
	return &Budgets{rdb: rdb, prefix: prefix}
}

var _ store.Budgets = (*Budgets)(nil)

// putScript stores ARGV[3] as the state of field ARGV[1] if its version is
// still ARGV[2], and returns the new version, or -1 on a mismatch. ARGV[4]
// > 0 is how many milliseconds this budget still matters: the subject's
// hash then expires when the last of its budgets stops mattering.
var putScript = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v|' .. ARGV[1]) or '0')
if v ~= tonumber(ARGV[2]) then return -1 end
v = v + 1
redis.call('HSET', KEYS[1], 'v|' .. ARGV[1], v, 's|' .. ARGV[1], ARGV[3])
local keep = tonumber(ARGV[4])
if keep > 0 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < keep then redis.call('PEXPIRE', KEYS[1], keep) end
end
return v
`)

func (b *Budgets) hashKey(tenantID, subject string) string {
	// The braces make tenant and subject the hash tag: in a Redis Cluster
	// all of a subject's budgets sit in one slot.
	return b.prefix + "budget:{" + tenantID + "|" + subject + "}"
}

func field(k store.BudgetKey) string { return k.Class + "|" + k.Scope }

// GetBudget implements store.Budgets.
func (b *Budgets) GetBudget(ctx context.Context, key store.BudgetKey) (store.BudgetState, error) {
	f := field(key)
	vals, err := b.rdb.HMGet(ctx, b.hashKey(key.TenantID, key.Subject), "s|"+f, "v|"+f).Result()
	if err != nil {
		return store.BudgetState{}, fmt.Errorf("read budget from redis: %w", err)
	}
	raw, ok := vals[0].(string)
	if !ok {
		return store.BudgetState{Key: key}, nil
	}
	return decodeState(key, raw, vals[1])
}

func decodeState(key store.BudgetKey, raw string, version any) (store.BudgetState, error) {
	var st store.BudgetState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return store.BudgetState{}, fmt.Errorf("decode budget %s: %w", key, err)
	}
	v, _ := version.(string)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return store.BudgetState{}, fmt.Errorf("budget %s has no version: %w", key, err)
	}
	st.Key, st.Version = key, n
	return inUTC(st), nil
}

// inUTC gives every time of a state in UTC to the microsecond, as the SQL
// stores return them (Redis keeps the JSON's offset otherwise).
func inUTC(st store.BudgetState) store.BudgetState {
	fix := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return t.UTC().Truncate(time.Microsecond)
	}
	st.LockedUntil, st.LockedAt, st.UpdatedAt = fix(st.LockedUntil), fix(st.LockedAt), fix(st.UpdatedAt)
	st.Failures, st.Typos = slices.Clone(st.Failures), slices.Clone(st.Typos) // never the caller's arrays
	for i := range st.Failures {
		st.Failures[i] = fix(st.Failures[i])
	}
	for i := range st.Typos {
		st.Typos[i].At = fix(st.Typos[i].At)
	}
	return st
}

// PutBudget implements store.Budgets.
func (b *Budgets) PutBudget(ctx context.Context, st store.BudgetState) (int64, error) {
	next := inUTC(st)
	next.Version = 0 // the version lives beside the state, under the script's control
	raw, err := json.Marshal(next)
	if err != nil {
		return 0, err
	}
	keep := int64(0)
	if !st.ExpiresAt.IsZero() {
		keep = max(time.Until(st.ExpiresAt).Milliseconds(), 1000)
	}
	v, err := putScript.Run(ctx, b.rdb, []string{b.hashKey(st.Key.TenantID, st.Key.Subject)},
		field(st.Key), st.Version, raw, keep).Int64()
	if err != nil {
		return 0, fmt.Errorf("write budget to redis: %w", err)
	}
	if v < 0 {
		return 0, fmt.Errorf("budget %s: %w", st.Key, store.ErrConflict)
	}
	return v, nil
}

// ListBudgets implements store.Budgets, ordered by class and scope.
func (b *Budgets) ListBudgets(ctx context.Context, tenantID, subject string) ([]store.BudgetState, error) {
	all, err := b.rdb.HGetAll(ctx, b.hashKey(tenantID, subject)).Result()
	if err != nil {
		return nil, fmt.Errorf("list budgets in redis: %w", err)
	}
	var out []store.BudgetState
	for f, raw := range all {
		rest, ok := strings.CutPrefix(f, "s|")
		if !ok {
			continue
		}
		class, scope, _ := strings.Cut(rest, "|")
		st, err := decodeState(store.BudgetKey{TenantID: tenantID, Subject: subject, Class: class, Scope: scope},
			raw, all["v|"+rest])
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(x, y store.BudgetState) int {
		return cmp.Or(cmp.Compare(x.Key.Class, y.Key.Class), cmp.Compare(x.Key.Scope, y.Key.Scope))
	})
	return out, nil
}
