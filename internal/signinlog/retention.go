package signinlog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// RetentionStore is what retention needs from storage.
type RetentionStore interface {
	ListTenants(ctx context.Context) ([]store.Tenant, error)
	PruneSignIns(ctx context.Context, tenantID string, cutoff time.Time, limit int) (int, error)
	PruneAudits(ctx context.Context, tenantID string, cutoff time.Time, limit int) (int, error)
}

// PartitionDropper is implemented by stores that partition the logs by
// time (PostgreSQL): whole partitions past every tenant's cutoff are
// dropped at once before the batches delete the rest.
type PartitionDropper interface {
	DropPartitionsBefore(ctx context.Context, table string, cutoff time.Time) (int, error)
}

// Retention deletes sign-in and audit records past their retention, in
// small batches with a pause between them, so the group-commit writer (which
// shares the database's one writer) never waits for more than one batch.
type Retention struct {
	Store      RetentionStore
	SignInDays int
	AuditDays  int
	Batch      int           // records per transaction (default 1000)
	Pause      time.Duration // between batches
	Now        func() time.Time
	Logger     *slog.Logger
	// PruneGrants, when set, deletes sessions, codes, refresh tokens and
	// device cookies that ended before the cutoff it is given (a day ago)
	// on each pass.
	PruneGrants func(ctx context.Context, cutoff time.Time) (int, error)
}

// RunOnce prunes every tenant until nothing is past retention and reports
// how many records went.
func (r *Retention) RunOnce(ctx context.Context) (signIns, audits int, err error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	tenants, err := r.Store.ListTenants(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("retention: %w", err)
	}
	if d, ok := r.Store.(PartitionDropper); ok {
		// Every tenant has the same retention, so one cutoff serves all.
		if signIns, err = d.DropPartitionsBefore(ctx, "signins", now().AddDate(0, 0, -r.SignInDays)); err != nil {
			return signIns, 0, fmt.Errorf("retention: %w", err)
		}
		if audits, err = d.DropPartitionsBefore(ctx, "directory_audits", now().AddDate(0, 0, -r.AuditDays)); err != nil {
			return signIns, audits, fmt.Errorf("retention: %w", err)
		}
	}
	for _, t := range tenants {
		n, err := r.drain(ctx, t.ID, now().AddDate(0, 0, -r.SignInDays), r.Store.PruneSignIns)
		signIns += n
		if err != nil {
			return signIns, audits, err
		}
		n, err = r.drain(ctx, t.ID, now().AddDate(0, 0, -r.AuditDays), r.Store.PruneAudits)
		audits += n
		if err != nil {
			return signIns, audits, err
		}
	}
	return signIns, audits, nil
}

type pruneFunc func(ctx context.Context, tenantID string, cutoff time.Time, limit int) (int, error)

func (r *Retention) drain(ctx context.Context, tenantID string, cutoff time.Time, prune pruneFunc) (int, error) {
	batch := r.Batch
	if batch <= 0 {
		batch = 1000
	}
	total := 0
	for {
		n, err := prune(ctx, tenantID, cutoff, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
		if r.Pause > 0 {
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(r.Pause): // leave the writer room between batches
			}
		}
	}
}

// Run prunes now and then every interval until ctx ends. Failures are
// logged and retried at the next interval: nothing depends on them.
func (r *Retention) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		signIns, audits, err := r.RunOnce(ctx)
		if err == nil && r.PruneGrants != nil {
			_, err = r.PruneGrants(ctx, time.Now().Add(-24*time.Hour))
		}
		switch {
		case err != nil && ctx.Err() == nil && r.Logger != nil:
			r.Logger.Error("log retention failed; retrying later", "error", err)
		case signIns+audits > 0 && r.Logger != nil:
			r.Logger.Info("log retention", "signins_deleted", signIns, "audits_deleted", audits)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
