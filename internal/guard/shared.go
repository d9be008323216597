package guard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// reservationTTL bounds how long a slot outlives an instance that died
// while verifying: longer than any verification waits (the hash queue's
// timeout) plus the hash itself.
const reservationTTL = 30 * time.Second

// admitShared is admit for budgets shared with other instances: the slot
// is a reservation written into the stored budget by compare-and-swap, so
// failures plus attempts being verified stay within the threshold whichever
// instances they arrive at.
func (g *Guard) admitShared(ctx context.Context, src source, p store.LockoutPolicy, mac string, notBefore time.Time, out *Outcome) error {
	for range maxCASRetries {
		st, now, err := g.currentBudget(ctx, src, p)
		if err != nil {
			return err
		}
		out.fill(st)
		pruned := dropExpiredReservations(&st, now)
		switch {
		case locked(st, now):
			out.Decision, out.KnownWrong = DecisionLocked, hasTypo(st, mac, notBefore)
			return nil
		case hasTypo(st, mac, notBefore):
			out.Decision = DecisionRepeatedTypo
			return nil
		case len(st.Failures)+len(st.Reservations) >= src.threshold:
			out.Decision = DecisionLocked // every slot is taken, on some instance
			if pruned {
				stampExpiry(&st, p)
				_, _ = src.backend.PutBudget(ctx, st) // tidy; a conflict means someone else did
			}
			return nil
		}
		id := uuid.NewString()
		st.Reservations = append(st.Reservations, store.Reservation{ID: id, Until: now.Add(reservationTTL)})
		st.UpdatedAt = now
		stampExpiry(&st, p)
		if _, err := src.backend.PutBudget(ctx, st); errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return fmt.Errorf("reserve a verification slot: %w", err)
		}
		out.Decision, out.reservation = DecisionVerified, id
		return nil
	}
	return fmt.Errorf("reserve a verification slot in %s: %w after %d retries", src.key, store.ErrConflict, maxCASRetries)
}

// release returns an admitted attempt's slot unused (the hash could not
// run).
func (g *Guard) release(ctx context.Context, src source, p store.LockoutPolicy, out *Outcome) {
	if !src.shared {
		g.inflight.add(src.key.String(), -1)
		return
	}
	for range maxCASRetries {
		st, now, err := g.currentBudget(ctx, src, p)
		if err != nil {
			break
		}
		if !dropReservation(&st, out.reservation, now) {
			return
		}
		stampExpiry(&st, p)
		if _, err := src.backend.PutBudget(ctx, st); !errors.Is(err, store.ErrConflict) {
			return
		}
	}
	// Left behind, the slot expires by itself after reservationTTL.
	g.logger.Warn("could not return a verification slot; it expires by itself", "budget", src.key.String())
}

// dropReservation removes the reservation id (and every expired one) and
// reports whether anything was removed.
func dropReservation(st *store.BudgetState, id string, now time.Time) bool {
	n := len(st.Reservations)
	st.Reservations = slices.DeleteFunc(st.Reservations, func(r store.Reservation) bool {
		return (id != "" && r.ID == id) || !now.Before(r.Until)
	})
	if len(st.Reservations) == 0 {
		st.Reservations = nil
	}
	return len(st.Reservations) != n
}

func dropExpiredReservations(st *store.BudgetState, now time.Time) bool {
	return dropReservation(st, "", now)
}

// What a guard in shared mode does while its shared state cannot be reached
// (Config.SharedUnavailable).
const (
	// UnavailableDefault refuses unfamiliar sources (fail closed: an
	// attacker gains nothing from the outage) and lets familiar ones (a
	// familiar network, a trusted location, a device cookie) go on against
	// a local budget with half the threshold.
	UnavailableDefault = "default"
	// UnavailableFailClosed refuses every attempt until the state is back.
	UnavailableFailClosed = "fail_closed"
	// UnavailableLocal lets every attempt go on against local budgets
	// (half the threshold): availability over a shared limit.
	UnavailableLocal = "local"
)

// ErrStateUnavailable: the shared lockout state could not be reached and
// the attempt was refused rather than judged without it.
var ErrStateUnavailable = errors.New("the shared lockout state is unavailable")

// IsStateUnavailable reports whether err is ErrStateUnavailable.
func IsStateUnavailable(err error) bool { return errors.Is(err, ErrStateUnavailable) }

// sharedStateDown decides an attempt whose shared budget could not be
// read or written: a local source to judge it against instead (fallback
// true), or ErrStateUnavailable. Each outage is logged, at most every 10 s.
func (g *Guard) sharedStateDown(src source, p store.LockoutPolicy, cause error) (source, bool, error) {
	if errors.Is(cause, store.ErrConflict) {
		return src, false, cause // contention, not an outage
	}
	local := g.unavailable == UnavailableLocal ||
		(g.unavailable != UnavailableFailClosed && src.key.Class != ClassUnfamiliar)
	g.noteOutage(cause, local)
	g.outages.WithLabelValues(map[bool]string{true: "local", false: "refused"}[local]).Inc()
	if !local {
		return src, false, fmt.Errorf("%w: %v", ErrStateUnavailable, cause)
	}
	src.shared, src.backend = false, g.fallback
	src.threshold = max(1, src.threshold/2)
	return src, true, nil
}

// noteOutage logs the shared state's outage, rate-limited.
func (g *Guard) noteOutage(cause error, local bool) {
	g.logOutage(&g.outageLogged, "shared lockout state unavailable: unfamiliar sign-ins are refused with a throttling error, "+
		"familiar ones continue against local budgets at half the threshold (state.on_unavailable)",
		"error", cause, "this_attempt_local", local, "policy", g.unavailable)
}

// noteDetectionOutage logs that the shared detection windows could not be
// reached and attempts are counted in process, rate-limited.
func (g *Guard) noteDetectionOutage(cause error) {
	g.logOutage(&g.detectionOutageLogged, "shared attack-detection windows unavailable: attempts are counted by this "+
		"instance alone until they answer", "error", cause)
}

// logOutage logs an outage at most every 10 s (last is when it last did):
// under attack every attempt meets the outage, and the log must not drown.
func (g *Guard) logOutage(last *time.Time, msg string, args ...any) {
	g.outageMu.Lock()
	defer g.outageMu.Unlock()
	now := g.now()
	if now.Sub(*last) < 10*time.Second {
		return
	}
	*last = now
	g.logger.Error(msg, args...)
}
