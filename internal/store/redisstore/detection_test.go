package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/redisstore"
)

// TestDetectionWindowsAreShared: two Detection values on one prefix, as two
// instances, count one scope together; the window slides (old buckets and
// accounts drop out by the observation's own clock); the distinct accounts
// kept stop at the limit; and exactly one claim per quiet period succeeds.
func TestDetectionWindowsAreShared(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	prefix := "portcullis-test:" + uuid.NewString() + ":"
	t.Cleanup(func() {
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	a, b := redisstore.NewDetection(rdb, prefix), redisstore.NewDetection(rdb, prefix)
	window := 12 * time.Minute
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	obs := func(d *redisstore.Detection, subject string, unknown, failed bool, at time.Time) store.DetectionCounts {
		t.Helper()
		c, err := d.ObserveAttempt(ctx, store.DetectionObservation{Slot: "192.0.2.0/24",
			Scopes:  []store.DetectionScope{{Prefix: "192.0.2.7/32", Limit: 4}, {Prefix: "192.0.2.0/24", Limit: 100}},
			Subject: subject, Name: "name-" + subject, Unknown: unknown, Failed: failed,
			Epoch: at.UnixNano() / int64(window/12), Buckets: 12, Now: at, Window: window})
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 2 || c[1].Failures != c[0].Failures || c[1].Attempts != c[0].Attempts {
			t.Fatalf("the network's counts %+v differ from its only address's", c)
		}
		return c[0]
	}
	obs(a, "u1", false, true, start)
	obs(b, "u1", false, true, start.Add(time.Second))
	obs(a, "u2", false, true, start.Add(2*time.Second))
	obs(b, "n1", true, true, start.Add(3*time.Second))
	c := obs(a, "u3", false, false, start.Add(4*time.Second)) // a success: an attempt, not a failure
	want := store.DetectionCounts{Attempts: 5, Failures: 4, UnknownFailures: 1, Accounts: 3, UnknownNames: 1, MaxPerAccount: 2,
		Samples: []string{"name-u1", "name-u2", "name-n1"}}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatalf("counts across two instances: %+v, want %+v", c, want)
	}
	// The limit: a fourth distinct account is kept, a fifth is not.
	obs(b, "u4", false, true, start.Add(5*time.Second))
	if c := obs(a, "u5", false, true, start.Add(6*time.Second)); c.Accounts != 4 || c.Failures != 6 {
		t.Fatalf("past the limit: %+v", c)
	}
	// Eleven minutes on, the first minute's bucket is still in the
	// window; thirteen minutes on, everything before has slid out.
	if c := obs(b, "u1", false, true, start.Add(11*time.Minute)); c.Attempts != 8 || c.MaxPerAccount != 3 {
		t.Fatalf("within the window: %+v", c)
	}
	if c := obs(a, "u6", false, true, start.Add(24*time.Minute)); c.Attempts != 1 || c.Accounts != 1 || c.MaxPerAccount != 1 {
		t.Fatalf("after the window: %+v", c)
	}
	// One small hash per scope, gone a window after its last attempt:
	// a flood of addresses costs Redis memory for one window only.
	keys, err := rdb.Keys(ctx, prefix+"det:*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys for one address and its network: %v %v", keys, err)
	}
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > window {
			t.Fatalf("%s expires in %v, want within the window %v", k, ttl, window)
		}
	}
	claims := 0
	for _, d := range []*redisstore.Detection{a, b, a} {
		ok, err := d.ClaimDetection(ctx, "192.0.2.7/32", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			claims++
		}
	}
	if claims != 1 {
		t.Fatalf("%d claims succeeded, want 1", claims)
	}
}
