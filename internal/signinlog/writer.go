package signinlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("sign-in log writer is closed")

// Writer is the group-commit writer. Write returns only once the record is
// durable (or failed), so a caller that responds after Write never sends a
// response whose record could be lost.
type Writer struct {
	sink      store.SignInLogs
	queue     chan *pending
	batchSize int

	mu     sync.RWMutex // guards closed against concurrent Write/Close
	closed bool
	done   chan struct{}

	batchSizes    prometheus.Histogram
	commitSeconds prometheus.Histogram
	commitErrors  prometheus.Counter

	subscribers []func([]store.SignInRow) // set before the first Write
}

// Subscribe registers fn to receive every committed batch, after it is
// durable and in commit order. fn runs on the writer's goroutine and must
// not block (an Outbox hands the batch on without waiting). Call it before
// the first Write.
func (w *Writer) Subscribe(fn func([]store.SignInRow)) {
	w.subscribers = append(w.subscribers, fn)
}

type pending struct {
	row  store.SignInRow
	done chan error
}

// NewWriter starts a writer over sink. batchSize bounds one transaction;
// queueSize bounds how many records may wait (Write blocks beyond it, which
// pushes back on the handlers). reg may be nil.
func NewWriter(sink store.SignInLogs, batchSize, queueSize int, reg prometheus.Registerer) *Writer {
	w := &Writer{
		sink: sink, queue: make(chan *pending, queueSize), batchSize: max(batchSize, 1), done: make(chan struct{}),
		batchSizes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "portcullis_signinlog_batch_size", Help: "Sign-in records per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "portcullis_signinlog_commit_seconds", Help: "Latency of one durable sign-in log commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_signinlog_commit_errors_total", Help: "Sign-in log commits that failed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(w.batchSizes, w.commitSeconds, w.commitErrors)
	}
	go w.run()
	return w
}

// Write makes rec durable and returns when it is, or fails.
func (w *Writer) Write(ctx context.Context, rec Record) error {
	row, err := rec.Row() // encode in the caller's goroutine: spreads the work
	if err != nil {
		return err
	}
	p := &pending{row: row, done: make(chan error, 1)}
	if err := w.enqueue(ctx, p); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for sign-in log commit: %w", ctx.Err())
	}
}

func (w *Writer) enqueue(ctx context.Context, p *pending) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.queue <- p:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queueing sign-in record: %w", ctx.Err())
	}
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]*pending, 0, w.batchSize)
	rows := make([]store.SignInRow, 0, w.batchSize)
	for first := range w.queue {
		batch = append(batch[:0], first)
		// Take whatever else is already waiting: that is the group.
	gather:
		for len(batch) < w.batchSize {
			select {
			case p, ok := <-w.queue:
				if !ok {
					break gather
				}
				batch = append(batch, p)
			default:
				break gather
			}
		}
		rows = rows[:0]
		for _, p := range batch {
			rows = append(rows, p.row)
		}
		start := time.Now()
		// Not tied to any request: the batch must commit even if the request
		// that started it has gone.
		err := w.sink.AppendSignIns(context.Background(), rows)
		w.commitSeconds.Observe(time.Since(start).Seconds())
		w.batchSizes.Observe(float64(len(rows)))
		if err != nil {
			w.commitErrors.Inc()
			err = fmt.Errorf("commit sign-in log batch: %w", err)
		} else {
			for _, fn := range w.subscribers {
				fn(rows)
			}
		}
		for _, p := range batch {
			p.done <- err
		}
	}
}

// Close stops accepting records, commits everything queued and returns.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
}
