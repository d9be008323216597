// Package hashpool bounds password hashing. Argon2id is deliberately
// expensive in CPU and memory, so unbounded concurrent verifications would let
// an attacker exhaust the machine. The pool runs at most Workers hashes at a
// time and lets a bounded number wait, each for at most Timeout: overload is
// answered quickly and clearly instead of by running out of memory.
//
// Admission control keeps legitimate users in while an attack saturates the
// pool:
//   - two classes of waiters: attempts from familiar sources (a network where
//     the user signed in before, a trusted location, a device cookie) are
//     served before unfamiliar ones whenever a worker frees up, and have their
//     own queue, so a flood of unfamiliar attempts cannot fill it;
//   - a per-source cap on waiting unfamiliar attempts, so one address (or
//     network) cannot take the whole unfamiliar queue.
package hashpool

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrOverloaded means the queue was full or the wait exceeded the timeout.
var ErrOverloaded = errors.New("password hashing is overloaded")

// Priority classes.
const (
	Normal   = 0 // unfamiliar sources, unknown names
	Familiar = 1 // sources that earned familiarity
)

// Pool is a bounded, prioritised executor for hashing work.
type Pool struct {
	timeout   time.Duration
	maxQueue  [2]int
	perSource int

	mu       sync.Mutex
	free     int
	queues   [2]*list.List // of *waiter
	bySource map[string]int
	// streak counts slots handed to familiar waiters in a row while
	// unfamiliar ones were waiting too (see release).
	streak int

	waitSeconds prometheus.Histogram
	queueLength *prometheus.GaugeVec
	rejected    *prometheus.CounterVec
}

type waiter struct {
	ready  chan struct{} // closed when a worker slot is handed over
	source string
	elem   *list.Element
	prio   int
}

// Options tunes admission control; zero values pick the defaults.
type Options struct {
	// FamiliarQueue bounds familiar waiters (default: the normal queue size).
	FamiliarQueue int
	// PerSource bounds waiters from one source key (default: no bound).
	PerSource int
}

// New returns a pool. workers >= 1; queue >= 0 bounds normal waiters;
// timeout > 0. reg may be nil.
func New(workers, queue int, timeout time.Duration, reg prometheus.Registerer) *Pool {
	return NewWithOptions(workers, queue, timeout, Options{}, reg)
}

// NewWithOptions is New with admission-control options.
func NewWithOptions(workers, queue int, timeout time.Duration, o Options, reg prometheus.Registerer) *Pool {
	familiarQueue := o.FamiliarQueue
	if familiarQueue <= 0 {
		familiarQueue = queue
	}
	p := &Pool{timeout: timeout, maxQueue: [2]int{queue, familiarQueue}, perSource: o.PerSource,
		free: max(workers, 1), queues: [2]*list.List{list.New(), list.New()}, bySource: map[string]int{}}
	p.waitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "portcullis_hash_pool_wait_seconds", Help: "Time a password verification waited for a hash worker.",
		Buckets: []float64{.0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	p.queueLength = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "portcullis_hash_pool_queue_length", Help: "Password verifications waiting for a hash worker, by class.",
	}, []string{"class"})
	p.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_hash_pool_rejected_total", Help: "Verifications refused because the pool was overloaded, by class.",
	}, []string{"class"})
	if reg != nil {
		reg.MustRegister(p.waitSeconds, p.queueLength, p.rejected)
	}
	return p
}

func className(prio int) string {
	if prio == Familiar {
		return "familiar"
	}
	return "unfamiliar"
}

// Do runs fn at normal priority with no source key.
func (p *Pool) Do(ctx context.Context, fn func()) (time.Duration, error) {
	return p.DoFor(ctx, Normal, "", fn)
}

// DoFor runs fn on a worker slot, in the caller's goroutine, at the given
// priority, counting the wait against source (empty = uncapped). It returns
// how long it waited, ErrOverloaded when a queue or the source's share is
// full or the wait times out, or the context's error.
func (p *Pool) DoFor(ctx context.Context, prio int, source string, fn func()) (time.Duration, error) {
	if prio != Familiar {
		prio = Normal
	}
	start := time.Now()
	w, err := p.acquire(prio, source)
	if err != nil {
		p.rejected.WithLabelValues(className(prio)).Inc()
		return 0, err
	}
	if w != nil {
		if err := p.wait(ctx, w); err != nil {
			return time.Since(start), err
		}
	}
	waited := time.Since(start)
	p.waitSeconds.Observe(waited.Seconds())
	defer p.release()
	fn()
	return waited, nil
}

// acquire takes a free slot (nil waiter) or queues a waiter.
func (p *Pool) acquire(prio int, source string) (*waiter, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A free slot goes to anyone unless familiar attempts are waiting for it.
	if p.free > 0 && (prio == Familiar || p.queues[Familiar].Len() == 0) {
		p.free--
		return nil, nil
	}
	if p.queues[prio].Len() >= p.maxQueue[prio] {
		return nil, fmt.Errorf("%w: %s queue full", ErrOverloaded, className(prio))
	}
	// The share applies to unfamiliar attempts only: an attacker filling the
	// share of a shared address must not push out its familiar users.
	if prio == Familiar {
		source = ""
	}
	if source != "" && p.perSource > 0 && p.bySource[source] >= p.perSource {
		return nil, fmt.Errorf("%w: too many attempts waiting from one source", ErrOverloaded)
	}
	w := &waiter{ready: make(chan struct{}), source: source, prio: prio}
	w.elem = p.queues[prio].PushBack(w)
	if source != "" {
		p.bySource[source]++
	}
	p.queueLength.WithLabelValues(className(prio)).Set(float64(p.queues[prio].Len()))
	return w, nil
}

func (p *Pool) wait(ctx context.Context, w *waiter) error {
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	var cause error
	select {
	case <-w.ready:
		return nil
	case <-timer.C:
		cause = fmt.Errorf("%w: waited %s", ErrOverloaded, p.timeout)
		p.rejected.WithLabelValues(className(w.prio)).Inc()
	case <-ctx.Done():
		cause = ctx.Err()
	}
	p.mu.Lock()
	if w.elem != nil { // still queued: leave the queue
		p.dequeue(w)
		p.mu.Unlock()
		return cause
	}
	p.mu.Unlock()
	// A slot was handed over just as we gave up: pass it on.
	<-w.ready
	p.release()
	return cause
}

// dequeue removes w from its queue; p.mu must be held.
func (p *Pool) dequeue(w *waiter) {
	p.queues[w.prio].Remove(w.elem)
	w.elem = nil
	if w.source != "" {
		if p.bySource[w.source]--; p.bySource[w.source] <= 0 {
			delete(p.bySource, w.source)
		}
	}
	p.queueLength.WithLabelValues(className(w.prio)).Set(float64(p.queues[w.prio].Len()))
}

// familiarRun is how many slots in a row go to familiar waiters while
// unfamiliar ones wait too; the next goes to the oldest unfamiliar waiter.
// Familiar attempts get three quarters of the hashing when both want it, so
// an attack cannot slow the users it cannot pass for, and a steady stream of
// familiar sign-ins cannot starve a new user (or a new device) until its
// deadline.
const familiarRun = 3

// release hands the slot to the next waiter, familiar first (but see
// familiarRun), or frees it.
func (p *Pool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := Familiar
	switch {
	case p.queues[Familiar].Len() == 0:
		next = Normal
	case p.queues[Normal].Len() > 0 && p.streak >= familiarRun:
		next = Normal
	}
	front := p.queues[next].Front()
	if front == nil {
		p.free++
		return
	}
	if next == Familiar && p.queues[Normal].Len() > 0 {
		p.streak++
	} else {
		p.streak = 0
	}
	w := front.Value.(*waiter)
	p.dequeue(w)
	close(w.ready)
}

// Waiting reports how many callers are queued.
func (p *Pool) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queues[Normal].Len() + p.queues[Familiar].Len()
}
