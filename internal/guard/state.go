package guard

import (
	"slices"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// The budget state machine, as pure functions of (state, policy, now) so
// that every backend applies exactly the same rules and a model test can
// drive them directly.

// maxTypos is how many distinct wrong passwords are remembered per budget.
const maxTypos = 3

// lockDuration is the length of the n-th consecutive lock (n >= 1):
// Duration doubled n-1 times, capped at MaxDuration.
func lockDuration(p store.LockoutPolicy, n int) time.Duration {
	d := p.Duration
	for i := 1; i < n && d < p.MaxDuration; i++ {
		d *= 2
	}
	return min(d, p.MaxDuration)
}

// normalise brings a stored state up to now: failures and typos older than
// the observation window are forgotten; after a lock expires the budget
// allows exactly one more attempt (a failure re-locks for longer); after a
// quiet window with no lock the escalation resets.
func normalise(st *store.BudgetState, p store.LockoutPolicy, threshold int, now time.Time) {
	cutoff := now.Add(-p.ObservationWindow)
	st.Failures = slices.DeleteFunc(st.Failures, func(t time.Time) bool { return !t.After(cutoff) })
	st.Typos = slices.DeleteFunc(st.Typos, func(t store.Typo) bool { return !t.At.After(cutoff) })
	if st.LockedUntil.IsZero() || now.Before(st.LockedUntil) {
		return
	}
	if len(st.Failures) >= threshold {
		st.Failures = slices.Clone(st.Failures[len(st.Failures)-(threshold-1):])
	}
	if st.Lockouts > 0 && now.Sub(st.LockedUntil) >= p.ObservationWindow {
		st.Lockouts = 0
	}
}

// stampExpiry sets when st stops mattering under p: a window after the
// latest thing in it (failure, typo, slot, lock end, update), when
// normalise would have emptied it. Shared stores forget it then.
func stampExpiry(st *store.BudgetState, p store.LockoutPolicy) {
	last := st.UpdatedAt
	later := func(t time.Time) {
		if t.After(last) {
			last = t
		}
	}
	later(st.LockedUntil)
	for _, t := range st.Failures {
		later(t)
	}
	for _, t := range st.Typos {
		later(t.At)
	}
	for _, r := range st.Reservations {
		later(r.Until)
	}
	st.ExpiresAt = last.Add(p.ObservationWindow)
}

// locked reports whether the budget is locked at now.
func locked(st store.BudgetState, now time.Time) bool {
	return !st.LockedUntil.IsZero() && now.Before(st.LockedUntil)
}

// hasTypo reports whether mac is a remembered wrong password newer than
// notBefore (a password change makes older typos meaningless).
func hasTypo(st store.BudgetState, mac string, notBefore time.Time) bool {
	for _, t := range st.Typos {
		if t.MAC == mac && t.At.After(notBefore) {
			return true
		}
	}
	return false
}

// recordFailure adds a verified wrong password. It returns true when this
// failure locked the budget.
func recordFailure(st *store.BudgetState, p store.LockoutPolicy, threshold int, mac string, now time.Time) bool {
	st.Failures = append(st.Failures, now)
	st.Typos = slices.DeleteFunc(st.Typos, func(t store.Typo) bool { return t.MAC == mac })
	st.Typos = append(st.Typos, store.Typo{MAC: mac, At: now})
	if len(st.Typos) > maxTypos {
		st.Typos = slices.Clone(st.Typos[len(st.Typos)-maxTypos:])
	}
	if len(st.Failures) < threshold || locked(*st, now) {
		return false
	}
	st.Lockouts++
	st.LockedAt = now
	st.LockedUntil = now.Add(lockDuration(p, st.Lockouts))
	return true
}

// recordSuccess resets the failure count (escalation resets only after a
// quiet window, in normalise).
func recordSuccess(st *store.BudgetState) {
	st.Failures, st.Typos = nil, nil
}

// clearAll is an administrator's unlock: everything, escalation included.
func clearAll(st *store.BudgetState) {
	st.Failures, st.Typos = nil, nil
	st.LockedUntil, st.Lockouts = time.Time{}, 0
}
