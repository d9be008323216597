package hashpool

import (
	"context"
	"errors"
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
