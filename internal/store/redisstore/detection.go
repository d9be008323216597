package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Detection keeps the attack detector's sliding windows in Redis
// (store.DetectionWindows): per source scope, bucket counters, the
// distinct accounts that failed with their failure counts, and a few sample
// names, updated and read back by one Lua script, so instances counting
// the same attack see its whole size. The keys of a scope share a hash tag
// (one Redis Cluster slot) and expire two windows after its last attempt.
type Detection struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewDetection keeps windows under keys starting with prefix.
func NewDetection(rdb redis.UniversalClient, prefix string) *Detection {
	return &Detection{rdb: rdb, prefix: prefix}
}

var _ store.DetectionWindows = (*Detection)(nil)

// observeScript counts one attempt in several scopes. KEYS: four per
// scope (bucket counters hash, accounts zset member -> last failure in ms,
// per-account failure counts hash, samples list). ARGV: epoch, buckets,
// member, failed, now ms, window ms, name, then one account limit per
// scope. Returns, per scope, attempts, failures, unknown failures,
// accounts, unknown names, max failures per account, the number of
// samples, and the samples.
var observeScript = redis.NewScript(`
local epoch, nb = tonumber(ARGV[1]), tonumber(ARGV[2])
local member, failed = ARGV[3], ARGV[4] == '1'
local now, window, name = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local out = {}
for s = 0, #KEYS / 4 - 1 do
  local kb, ka, kc, ks = KEYS[4*s+1], KEYS[4*s+2], KEYS[4*s+3], KEYS[4*s+4]
  local limit = tonumber(ARGV[8+s])
  redis.call('HINCRBY', kb, epoch .. ':a', 1)
  if failed then
    redis.call('HINCRBY', kb, epoch .. ':f', 1)
    if string.sub(member, 1, 1) == 'u' then redis.call('HINCRBY', kb, epoch .. ':u', 1) end
    local gone = redis.call('ZRANGEBYSCORE', ka, '-inf', '(' .. (now - window))
    for _, m in ipairs(gone) do redis.call('HDEL', kc, m) end
    redis.call('ZREMRANGEBYSCORE', ka, '-inf', '(' .. (now - window))
    local known = redis.call('ZSCORE', ka, member)
    if known or redis.call('ZCARD', ka) < limit then
      if not known and redis.call('LLEN', ks) < 5 then redis.call('RPUSH', ks, name) end
      redis.call('ZADD', ka, now, member)
      redis.call('HINCRBY', kc, member, 1)
    end
  end
  local a, f, u = 0, 0, 0
  local all = redis.call('HGETALL', kb)
  for i = 1, #all, 2 do
    local e, kind = string.match(all[i], '^(%d+):(%a)$')
    if e == nil or epoch - tonumber(e) >= nb then
      redis.call('HDEL', kb, all[i])
    else
      local v = tonumber(all[i + 1])
      if kind == 'a' then a = a + v elseif kind == 'f' then f = f + v else u = u + v end
    end
  end
  local members = redis.call('ZRANGEBYSCORE', ka, now - window, '+inf')
  local unknown, maxper = 0, 0
  for _, m in ipairs(members) do
    if string.sub(m, 1, 1) == 'u' then unknown = unknown + 1 end
    local c = tonumber(redis.call('HGET', kc, m) or '0')
    if c > maxper then maxper = c end
  end
  for _, k in ipairs({kb, ka, kc, ks}) do redis.call('PEXPIRE', k, 2 * window) end
  local samples = redis.call('LRANGE', ks, 0, 4)
  for _, v in ipairs({a, f, u, #members, unknown, maxper, #samples}) do table.insert(out, v) end
  for _, v in ipairs(samples) do table.insert(out, v) end
end
return out
`)

// keys are a scope's four keys; the slot's hash tag keeps every scope of
// one observation in one Redis Cluster slot.
func (d *Detection) keys(slot, scope string) []string {
	base := d.prefix + "det:{" + slot + "}:" + scope + ":"
	return []string{base + "b", base + "a", base + "c", base + "s"}
}

// ObserveAttempt implements store.DetectionWindows: one round trip for
// all the scopes.
func (d *Detection) ObserveAttempt(ctx context.Context, o store.DetectionObservation) ([]store.DetectionCounts, error) {
	member := "k" + o.Subject
	if o.Unknown {
		member = "u" + o.Subject
	}
	failed := "0"
	if o.Failed {
		failed = "1"
	}
	keys := make([]string, 0, 4*len(o.Scopes))
	args := []any{o.Epoch, o.Buckets, member, failed, o.Now.UnixMilli(), o.Window.Milliseconds(), o.Name}
	for _, sc := range o.Scopes {
		keys = append(keys, d.keys(o.Slot, sc.Prefix)...)
		args = append(args, sc.Limit)
	}
	res, err := observeScript.Run(ctx, d.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("detection window in redis: %w", err)
	}
	out := make([]store.DetectionCounts, 0, len(o.Scopes))
	for range o.Scopes {
		if len(res) < 7 {
			return nil, fmt.Errorf("detection window in redis: short reply")
		}
		n := func(i int) int { v, _ := res[i].(int64); return int(v) }
		c := store.DetectionCounts{Attempts: n(0), Failures: n(1), UnknownFailures: n(2), Accounts: n(3),
			UnknownNames: n(4), MaxPerAccount: n(5)}
		samples := n(6)
		res = res[7:]
		if samples > len(res) {
			return nil, fmt.Errorf("detection window in redis: short reply")
		}
		for _, v := range res[:samples] {
			if str, ok := v.(string); ok {
				c.Samples = append(c.Samples, str)
			}
		}
		res = res[samples:]
		out = append(out, c)
	}
	return out, nil
}

// ClaimDetection implements store.DetectionWindows.
func (d *Detection) ClaimDetection(ctx context.Context, scope string, quiet time.Duration) (bool, error) {
	ok, err := d.rdb.SetNX(ctx, d.prefix+"claim:"+scope, 1, quiet).Result()
	if err != nil {
		return false, fmt.Errorf("claim detection in redis: %w", err)
	}
	return ok, nil
}
