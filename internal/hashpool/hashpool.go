// Package hashpool bounds password hashing. Argon2id is deliberately
// expensive in CPU and memory, so unbounded concurrent verifications would let
// an attacker exhaust the machine. The pool runs at most Workers hashes at a
// time, lets at most Queue more wait, and gives up on a waiter after Timeout:
// overload is answered quickly and clearly instead of by running out of memory.
package hashpool

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrOverloaded means the queue was full or the wait exceeded the timeout.
var ErrOverloaded = errors.New("password hashing is overloaded")

// Pool is a bounded executor for hashing work.
type Pool struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	timeout  time.Duration

	waitSeconds prometheus.Histogram
	queueLength prometheus.GaugeFunc
	rejected    prometheus.Counter
}

// New returns a pool. workers must be >= 1; queue >= 0; timeout > 0.
// reg may be nil.
func New(workers, queue int, timeout time.Duration, reg prometheus.Registerer) *Pool {
	if workers < 1 {
		workers = 1
	}
	p := &Pool{slots: make(chan struct{}, workers), maxQueue: int64(queue), timeout: timeout}
	p.waitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "portcullis_hash_pool_wait_seconds", Help: "Time a password verification waited for a hash worker.",
		Buckets: []float64{.0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	p.queueLength = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portcullis_hash_pool_queue_length", Help: "Password verifications waiting for a hash worker.",
	}, func() float64 { return float64(p.waiting.Load()) })
	p.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portcullis_hash_pool_rejected_total", Help: "Verifications refused because the pool was overloaded.",
	})
	if reg != nil {
		reg.MustRegister(p.waitSeconds, p.queueLength, p.rejected)
	}
	return p
}

// Do runs fn on a hash worker slot, in the caller's goroutine. It returns how
// long it waited, ErrOverloaded when the queue is full or the wait times out,
// or the context's error.
func (p *Pool) Do(ctx context.Context, fn func()) (time.Duration, error) {
	start := time.Now()
	select {
	case p.slots <- struct{}{}:
		// Fast path: a worker was free, no queueing.
	default:
		if err := p.wait(ctx); err != nil {
			return time.Since(start), err
		}
	}
	waited := time.Since(start)
	p.waitSeconds.Observe(waited.Seconds())
	defer func() { <-p.slots }()
	fn()
	return waited, nil
}

func (p *Pool) wait(ctx context.Context) error {
	if p.waiting.Add(1) > p.maxQueue {
		p.waiting.Add(-1)
		p.rejected.Inc()
		return fmt.Errorf("%w: queue full", ErrOverloaded)
	}
	defer p.waiting.Add(-1)
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-timer.C:
		p.rejected.Inc()
		return fmt.Errorf("%w: waited %s", ErrOverloaded, p.timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Waiting reports how many callers are queued.
func (p *Pool) Waiting() int { return int(p.waiting.Load()) }
