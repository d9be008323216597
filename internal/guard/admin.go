package guard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-idp/portcullis/internal/events"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Rehash runs fn (which re-hashes a verified password) inside the pool, so
// upgrades are bounded like every other hash.
func (g *Guard) Rehash(ctx context.Context, fn func() error) error {
	var ferr error
	if _, err := g.pool.Do(ctx, func() { ferr = fn() }); err != nil {
		return fmt.Errorf("rehash: %w", err)
	}
	return ferr
}

// BudgetStatus is one budget as an administrator sees it.
type BudgetStatus struct {
	Class       string    `json:"class"`
	Scope       string    `json:"scope,omitempty"`
	Failures    int       `json:"failures"`
	Threshold   int       `json:"threshold"`
	Locked      bool      `json:"locked"`
	LockedUntil time.Time `json:"lockedUntil,omitzero"`
	Lockouts    int       `json:"consecutiveLockouts"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Status is a user's lockout state: every budget and the lock history.
type Status struct {
	Locked   bool            `json:"locked"`
	Budgets  []BudgetStatus  `json:"budgets"`
	Lockouts []store.Lockout `json:"lockouts"`
}

// Status reports every budget of a user (as of now) and past and current locks.
func (g *Guard) Status(ctx context.Context, tenantID, userID string) (Status, error) {
	var s Status
	p, err := g.Policy(ctx, tenantID)
	if err != nil {
		return s, err
	}
	budgets, err := g.store.ListBudgets(ctx, tenantID, userID)
	if err != nil {
		return s, err
	}
	now := g.now()
	for _, st := range budgets {
		threshold := p.Threshold
		if st.Key.Class == ClassDeviceCookie {
			threshold = p.DeviceCookieThreshold
		}
		normalise(&st, p, threshold, now)
		b := BudgetStatus{Class: st.Key.Class, Scope: st.Key.Scope, Failures: len(st.Failures), Threshold: threshold,
			Locked: locked(st, now), Lockouts: st.Lockouts, UpdatedAt: st.UpdatedAt}
		if !st.LockedUntil.IsZero() {
			b.LockedUntil = st.LockedUntil
		}
		s.Locked = s.Locked || b.Locked
		s.Budgets = append(s.Budgets, b)
	}
	if s.Lockouts, err = g.store.ListLockouts(ctx, tenantID, userID, 100); err != nil {
		return s, err
	}
	return s, nil
}

// Unlock clears every budget of a user (escalation included) and marks each
// lock still in force as cleared by `by`, for `reason`.
func (g *Guard) Unlock(ctx context.Context, tenantID string, user store.User, by, reason string) (int, error) {
	budgets, err := g.store.ListBudgets(ctx, tenantID, user.ID)
	if err != nil {
		return 0, err
	}
	now := g.now()
	cleared := 0
	for _, b := range budgets {
		if err := g.clearBudget(ctx, b.Key); err != nil {
			return cleared, err
		}
		if locked(b, now) && b.LockoutID != "" {
			if err := g.store.ClearLockout(ctx, tenantID, b.LockoutID, now, by, "admin-unlock", reason); err != nil &&
				!errors.Is(err, store.ErrNotFound) {
				return cleared, err
			}
			cleared++
		}
	}
	g.events.Publish(events.Event{Type: events.AccountUnlocked, At: now, TenantID: tenantID, UserID: user.ID,
		UPN: user.UserPrincipalName, Details: map[string]string{"by": by, "reason": reason}})
	return cleared, nil
}

func (g *Guard) clearBudget(ctx context.Context, key store.BudgetKey) error {
	mu := g.lockFor(key.String())
	mu.Lock()
	defer mu.Unlock()
	for range maxCASRetries {
		st, err := g.store.GetBudget(ctx, key)
		if err != nil {
			return err
		}
		clearAll(&st)
		st.UpdatedAt = g.now()
		version, err := g.store.PutBudget(ctx, st)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err == nil {
			st.Version = version
			g.cache.putBudget(key.String(), st, st.UpdatedAt)
		}
		return err
	}
	return fmt.Errorf("unlock %s: %w", key, store.ErrConflict)
}
