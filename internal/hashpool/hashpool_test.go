package hashpool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestPoolBoundsConcurrency(t *testing.T) {
	synctest.Test(t, testPoolBoundsConcurrency)
}

func testPoolBoundsConcurrency(t *testing.T) {
	p := New(2, 100, time.Minute, nil)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := p.Do(context.Background(), func() {
				n := running.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				time.Sleep(time.Millisecond) // virtual time: holds the slot so others must queue
				running.Add(-1)
			})
			if err != nil {
				t.Errorf("Do: %v", err)
			}
		})
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Fatalf("peak concurrency %d, want <= 2", peak.Load())
	}
}

func TestPoolRejectsWhenQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(1, 1, time.Second, nil)
		release := make(chan struct{})
		go p.Do(context.Background(), func() { <-release }) // occupies the worker
		synctest.Wait()
		queued := make(chan error, 1)
		go func() {
			_, err := p.Do(context.Background(), func() {})
			queued <- err
		}()
		synctest.Wait()
		if p.Waiting() != 1 {
			t.Fatalf("Waiting = %d, want 1", p.Waiting())
		}
		// Queue is full: the third caller is refused at once.
		if _, err := p.Do(context.Background(), func() {}); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("third caller: %v, want ErrOverloaded", err)
		}
		close(release)
		if err := <-queued; err != nil {
			t.Fatalf("queued caller: %v", err)
		}
	})
}

func TestPoolWaitTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(1, 10, 2*time.Second, nil)
		release := make(chan struct{})
		go p.Do(context.Background(), func() { <-release })
		synctest.Wait()
		start := time.Now()
		waited, err := p.Do(context.Background(), func() { t.Error("fn ran after timeout") })
		if !errors.Is(err, ErrOverloaded) {
			t.Fatalf("err = %v, want ErrOverloaded", err)
		}
		if time.Since(start) != 2*time.Second || waited != 2*time.Second {
			t.Fatalf("gave up after %v (reported %v), want exactly the 2s timeout", time.Since(start), waited)
		}
		close(release)
	})
}

func TestPoolHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(1, 10, time.Minute, nil)
		release := make(chan struct{})
		go p.Do(context.Background(), func() { <-release })
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := p.Do(ctx, func() {}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		close(release)
	})
}

// TestFamiliarServedFirst: when a worker frees up, a familiar waiter goes
// before unfamiliar ones that queued earlier.
func TestFamiliarServedFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(1, 10, time.Minute, nil)
		release := make(chan struct{})
		go p.Do(context.Background(), func() { <-release })
		synctest.Wait()
		var order []string
		var mu sync.Mutex
		record := func(name string) func() {
			return func() { mu.Lock(); order = append(order, name); mu.Unlock() }
		}
		var wg sync.WaitGroup
		for _, name := range []string{"u1", "u2"} {
			wg.Go(func() { _, _ = p.DoFor(context.Background(), Normal, "", record(name)) })
			synctest.Wait()
		}
		wg.Go(func() { _, _ = p.DoFor(context.Background(), Familiar, "", record("f1")) })
		synctest.Wait()
		close(release)
		wg.Wait()
		if len(order) != 3 || order[0] != "f1" || order[1] != "u1" || order[2] != "u2" {
			t.Fatalf("service order %v, want [f1 u1 u2]", order)
		}
	})
}

// TestFamiliarQueueIsSeparate: a full unfamiliar queue does not refuse a
// familiar attempt, and one source cannot take the whole unfamiliar queue.
func TestFamiliarQueueIsSeparate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewWithOptions(1, 3, time.Minute, Options{FamiliarQueue: 2, PerSource: 2}, nil)
		release := make(chan struct{})
		go p.Do(context.Background(), func() { <-release })
		synctest.Wait()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { _, _ = p.DoFor(context.Background(), Normal, "198.51.100.0/24", func() {}) })
		}
		synctest.Wait()
		if _, err := p.DoFor(context.Background(), Normal, "198.51.100.0/24", func() {}); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("third waiter from one source: %v, want ErrOverloaded", err)
		}
		wg.Go(func() { _, _ = p.DoFor(context.Background(), Normal, "203.0.113.0/24", func() {}) })
		synctest.Wait()
		if _, err := p.DoFor(context.Background(), Normal, "192.0.2.0/24", func() {}); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("unfamiliar queue over its bound: %v", err)
		}
		done := make(chan error, 1)
		go func() { _, err := p.DoFor(context.Background(), Familiar, "198.51.100.0/24", func() {}); done <- err }()
		synctest.Wait()
		if p.Waiting() != 4 {
			t.Fatalf("Waiting = %d, want 3 unfamiliar + 1 familiar", p.Waiting())
		}
		close(release)
		wg.Wait()
		if err := <-done; err != nil {
			t.Fatalf("familiar attempt with a full unfamiliar queue: %v", err)
		}
	})
}

// TestTimedOutWaiterLeavesNoSlotBehind: waiters that time out leave the
// queue, and the pool still runs work afterwards.
func TestTimedOutWaiterLeavesNoSlotBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(1, 10, time.Second, nil)
		release := make(chan struct{})
		go p.Do(context.Background(), func() { <-release })
		synctest.Wait()
		for range 3 {
			if _, err := p.Do(context.Background(), func() {}); !errors.Is(err, ErrOverloaded) {
				t.Fatalf("err = %v", err)
			}
		}
		close(release)
		synctest.Wait()
		ran := false
		if _, err := p.Do(context.Background(), func() { ran = true }); err != nil || !ran || p.Waiting() != 0 {
			t.Fatalf("after timeouts: err %v ran %v waiting %d", err, ran, p.Waiting())
		}
	})
}

// TestUnfamiliarNotStarved: with familiar waiters always present, every
// fourth slot still goes to the oldest unfamiliar waiter.
func TestUnfamiliarNotStarved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(1, 100, time.Minute, nil)
		release := make(chan struct{})
		go p.Do(context.Background(), func() { <-release })
		synctest.Wait()
		var order []string
		var mu sync.Mutex
		record := func(name string) func() {
			return func() { mu.Lock(); order = append(order, name); mu.Unlock() }
		}
		var wg sync.WaitGroup
		for _, name := range []string{"u1", "u2"} {
			wg.Go(func() { _, _ = p.DoFor(context.Background(), Normal, "", record(name)) })
			synctest.Wait()
		}
		for i := range 8 {
			wg.Go(func() { _, _ = p.DoFor(context.Background(), Familiar, "", record(fmt.Sprint("f", i+1))) })
			synctest.Wait()
		}
		close(release)
		wg.Wait()
		want := "[f1 f2 f3 u1 f4 f5 f6 u2 f7 f8]"
		if got := fmt.Sprint(order); got != want {
			t.Fatalf("service order %s, want %s", got, want)
		}
	})
}
