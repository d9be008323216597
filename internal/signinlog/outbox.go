package signinlog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Outbox carries committed records to one external destination (a file, a
// webhook) without ever slowing sign-ins: Offer copies the batch into a
// bounded buffer and returns at once; a full buffer drops the batch and
// counts it. Run delivers, retrying failures with exponential backoff while
// newer batches wait in the buffer.
type Outbox struct {
	name    string
	ch      chan [][]byte
	deliver func(ctx context.Context, records [][]byte) error
	logger  *slog.Logger

	dropped   atomic.Int64 // records
	delivered atomic.Int64 // records
	failures  atomic.Int64 // delivery attempts that failed

	minBackoff, maxBackoff time.Duration
	closeOnce              sync.Once
}

// NewOutbox buffers up to buffer batches for deliver.
func NewOutbox(name string, buffer int, deliver func(context.Context, [][]byte) error, logger *slog.Logger) *Outbox {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Outbox{name: name, ch: make(chan [][]byte, max(buffer, 1)), deliver: deliver, logger: logger,
		minBackoff: 100 * time.Millisecond, maxBackoff: 30 * time.Second}
}

// Offer is a Writer subscriber: it never blocks.
func (o *Outbox) Offer(rows []store.SignInRow) {
	batch := make([][]byte, len(rows))
	for i, r := range rows {
		batch[i] = r.Body // bodies are never modified after encoding
	}
	select {
	case o.ch <- batch:
	default:
		if o.dropped.Add(int64(len(batch))) == int64(len(batch)) {
			o.logger.Warn("sign-in stream buffer full: records dropped for this destination (the log itself is complete)",
				"destination", o.name)
		}
	}
}

// Stats reports delivered, dropped and failed-attempt counts.
func (o *Outbox) Stats() (delivered, dropped, failures int64) {
	return o.delivered.Load(), o.dropped.Load(), o.failures.Load()
}

// Run delivers batches until Close (after the last buffered batch) or
// until ctx ends (at once: the database has every record, the stream is
// best effort).
func (o *Outbox) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case batch, ok := <-o.ch:
			if !ok {
				return
			}
			o.deliverWithRetry(ctx, batch)
		}
	}
}

// Close ends Run once the buffered batches are delivered. Call it only
// after the writer feeding Offer is closed; later calls do nothing.
func (o *Outbox) Close() { o.closeOnce.Do(func() { close(o.ch) }) }

func (o *Outbox) deliverWithRetry(ctx context.Context, batch [][]byte) {
	backoff := o.minBackoff
	for {
		err := o.deliver(ctx, batch)
		if err == nil {
			o.delivered.Add(int64(len(batch)))
			return
		}
		o.failures.Add(1)
		o.logger.Warn("sign-in stream delivery failed; retrying", "destination", o.name, "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff): // backoff between retries of a failing destination
		}
		backoff = min(backoff*2, o.maxBackoff)
	}
}
