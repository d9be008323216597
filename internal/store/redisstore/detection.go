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

// observeScript: KEYS = buckets hash, accounts zset (member -> last
// failure, ms), per-account failure counts hash, samples list. ARGV =
// epoch, buckets, member, failed, now ms, window ms, limit, name.
// Returns attempts, failures, unknown failures, accounts, unknown names,
// max failures per account, then the samples.
var observeScript = redis.NewScript(`
local epoch, nb = tonumber(ARGV[1]), tonumber(ARGV[2])
local member, failed = ARGV[3], ARGV[4] == '1'
local now, window, limit = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
redis.call('HINCRBY', KEYS[1], epoch .. ':a', 1)
if failed then
  redis.call('HINCRBY', KEYS[1], epoch .. ':f', 1)
  if string.sub(member, 1, 1) == 'u' then redis.call('HINCRBY', KEYS[1], epoch .. ':u', 1) end
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - window))
  for _, m in ipairs(gone) do redis.call('HDEL', KEYS[3], m) end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - window))
  local known = redis.call('ZSCORE', KEYS[2], member)
  if known or redis.call('ZCARD', KEYS[2]) < limit then
    if not known and redis.call('LLEN', KEYS[4]) < 5 then redis.call('RPUSH', KEYS[4], ARGV[8]) end
    redis.call('ZADD', KEYS[2], now, member)
    redis.call('HINCRBY', KEYS[3], member, 1)
  end
end
local a, f, u = 0, 0, 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local e, kind = string.match(all[i], '^(%d+):(%a)$')
  if e == nil or epoch - tonumber(e) >= nb then
    redis.call('HDEL', KEYS[1], all[i])
  else
    local v = tonumber(all[i + 1])
    if kind == 'a' then a = a + v elseif kind == 'f' then f = f + v else u = u + v end
  end
end
local members = redis.call('ZRANGEBYSCORE', KEYS[2], now - window, '+inf')
local unknown, maxper = 0, 0
for _, m in ipairs(members) do
  if string.sub(m, 1, 1) == 'u' then unknown = unknown + 1 end
  local c = tonumber(redis.call('HGET', KEYS[3], m) or '0')
  if c > maxper then maxper = c end
end
for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, 2 * window) end
local out = {a, f, u, #members, unknown, maxper}
for _, s in ipairs(redis.call('LRANGE', KEYS[4], 0, 4)) do table.insert(out, s) end
return out
`)

func (d *Detection) keys(scope string) []string {
	base := d.prefix + "det:{" + scope + "}:"
	return []string{base + "b", base + "a", base + "c", base + "s"}
}

// ObserveAttempt implements store.DetectionWindows.
func (d *Detection) ObserveAttempt(ctx context.Context, o store.DetectionObservation) (store.DetectionCounts, error) {
	member := "k" + o.Subject
	if o.Unknown {
		member = "u" + o.Subject
	}
	failed := "0"
	if o.Failed {
		failed = "1"
	}
	res, err := observeScript.Run(ctx, d.rdb, d.keys(o.Scope), o.Epoch, o.Buckets, member, failed,
		o.Now.UnixMilli(), o.Window.Milliseconds(), o.Limit, o.Name).Slice()
	if err != nil {
		return store.DetectionCounts{}, fmt.Errorf("detection window in redis: %w", err)
	}
	if len(res) < 6 {
		return store.DetectionCounts{}, fmt.Errorf("detection window in redis: %d values", len(res))
	}
	n := func(i int) int { v, _ := res[i].(int64); return int(v) }
	c := store.DetectionCounts{Attempts: n(0), Failures: n(1), UnknownFailures: n(2), Accounts: n(3),
		UnknownNames: n(4), MaxPerAccount: n(5)}
	for _, s := range res[6:] {
		if str, ok := s.(string); ok {
			c.Samples = append(c.Samples, str)
		}
	}
	return c, nil
}

// ClaimDetection implements store.DetectionWindows.
func (d *Detection) ClaimDetection(ctx context.Context, scope string, quiet time.Duration) (bool, error) {
	ok, err := d.rdb.SetNX(ctx, d.prefix+"det:{"+scope+"}:q", 1, quiet).Result()
	if err != nil {
		return false, fmt.Errorf("claim detection in redis: %w", err)
	}
	return ok, nil
}
