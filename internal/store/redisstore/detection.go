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
// (one Redis Cluster slot); each scope is one small hash that expires a
// window after its last attempt.
type Detection struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewDetection keeps windows under keys starting with prefix.
func NewDetection(rdb redis.UniversalClient, prefix string) *Detection {
	return &Detection{rdb: rdb, prefix: prefix}
}

var _ store.DetectionWindows = (*Detection)(nil)

// observeScript counts one attempt in several scopes, each one small
// hash (Redis stores it compactly) expiring a window after its last
// attempt: fields "b<epoch><a|f|u>" count attempts, failures and unknown
// names' failures per bucket; "m<k|u><subject>" hold an account's last
// failure (ms) and failure count; "s1".."s5" are sample names. KEYS: one
// per scope. ARGV: epoch, buckets, member, failed, now ms, window ms, name,
// then one account limit per scope. Returns, per scope: attempts,
// failures, unknown failures, accounts, unknown names, max failures per
// account, the number of samples, and the samples.
var observeScript = redis.NewScript(`
local epoch, nb = tonumber(ARGV[1]), tonumber(ARGV[2])
local member, failed = 'm' .. ARGV[3], ARGV[4] == '1'
local now, window, name = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local isUnknown = string.sub(member, 2, 2) == 'u'
local out = {}
for s, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[7 + s])
  local a, f, u, accounts, unknown, maxper = 0, 0, 0, 0, 0, 0
  local known, samples, stale = nil, {}, {}
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local field, value = all[i], all[i + 1]
    local kind = string.sub(field, 1, 1)
    if kind == 'b' then
      local e, c = string.match(field, '^b(%d+)(%a)$')
      if e == nil or epoch - tonumber(e) >= nb then
        table.insert(stale, field)
      elseif c == 'a' then a = a + tonumber(value)
      elseif c == 'f' then f = f + tonumber(value)
      else u = u + tonumber(value) end
    elseif kind == 'm' then
      local last, count = string.match(value, '^(%d+):(%d+)$')
      if last == nil or tonumber(last) < now - window then
        table.insert(stale, field)
      else
        accounts = accounts + 1
        if string.sub(field, 2, 2) == 'u' then unknown = unknown + 1 end
        if tonumber(count) > maxper then maxper = tonumber(count) end
        if field == member then known = tonumber(count) end
      end
    elseif kind == 's' then
      table.insert(samples, value)
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  redis.call('HINCRBY', key, 'b' .. epoch .. 'a', 1)
  a = a + 1
  if failed then
    redis.call('HINCRBY', key, 'b' .. epoch .. 'f', 1)
    f = f + 1
    if isUnknown then
      redis.call('HINCRBY', key, 'b' .. epoch .. 'u', 1)
      u = u + 1
    end
    if known then
      redis.call('HSET', key, member, now .. ':' .. (known + 1))
      if known + 1 > maxper then maxper = known + 1 end
    elseif accounts < limit then
      redis.call('HSET', key, member, now .. ':1')
      accounts = accounts + 1
      if isUnknown then unknown = unknown + 1 end
      if maxper < 1 then maxper = 1 end
      if #samples < 5 then
        table.insert(samples, name)
        redis.call('HSET', key, 's' .. #samples, name)
      end
    end
  end
  redis.call('PEXPIRE', key, window)
  for _, v in ipairs({a, f, u, accounts, unknown, maxper, #samples}) do table.insert(out, v) end
  for _, v in ipairs(samples) do table.insert(out, v) end
end
return out
`)

// key is a scope's hash; the slot's hash tag keeps every scope of one
// observation in one Redis Cluster slot.
func (d *Detection) key(slot, scope string) string {
	return d.prefix + "det:{" + slot + "}:" + scope
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
	keys := make([]string, 0, len(o.Scopes))
	args := []any{o.Epoch, o.Buckets, member, failed, o.Now.UnixMilli(), o.Window.Milliseconds(), o.Name}
	for _, sc := range o.Scopes {
		keys = append(keys, d.key(o.Slot, sc.Prefix))
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
