package guard

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/events"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Attempt is one password presented for one (possibly unknown) account.
type Attempt struct {
	TenantID string
	User     *store.User // nil when the name matched no account
	LoginKey string      // the normalised name typed; keys unknown names
	Password string
	ClientIP netip.Addr
	Device   *DeviceCookie // a verified device cookie, if the client sent one
	// IP is the verdict the caller already obtained with CheckIP (to refuse
	// before looking the account up); nil makes CheckPassword decide.
	IP *IPVerdict
}

// Decisions.
const (
	// DecisionVerified: a slot was taken and the password checked.
	DecisionVerified = "verified"
	// DecisionLocked: the budget is locked or exhausted; nothing was hashed.
	DecisionLocked = "locked"
	// DecisionRepeatedTypo: a wrong password already counted; answered as
	// wrong (after a dummy hash, for equal timing) without using the budget.
	DecisionRepeatedTypo = "repeatedTypo"
	// DecisionIPBlocked: the client address is blocked; nothing was hashed.
	DecisionIPBlocked = "ipBlocked"
)

// Outcome says what the gate did and why, for the response and the log.
type Outcome struct {
	Decision string
	// Verified is true when a real hash of this user's password was checked.
	Verified bool
	// Correct is true only when Verified and the password matched.
	Correct bool
	// KnownWrong is true when a refused password matched a remembered typo:
	// the log can then say it was wrong although nothing was hashed.
	KnownWrong  bool
	NeedsRehash bool
	QueueWait   time.Duration
	Class       string
	Scope       string
	Failures    int
	Threshold   int
	Lockouts    int
	LockedUntil time.Time
	// LockedNow is true when this attempt's failure locked the budget.
	LockedNow bool
	// IP is the verdict about the client address.
	IP IPVerdict
	// subject is the budget's subject (user ID or keyed hash of an unknown
	// name), kept so the detector need not hash the name again.
	subject string
	// reservation is the slot's ID in the stored budget (shared mode).
	reservation string
}

// Refused reports whether the attempt was refused without verification.
func (o Outcome) Refused() bool {
	return o.Decision == DecisionLocked || o.Decision == DecisionIPBlocked
}

func (o *Outcome) fill(st store.BudgetState) {
	o.Failures, o.Lockouts, o.LockedUntil = len(st.Failures), st.Lockouts, st.LockedUntil
}

// CheckPassword is the gate for passwords.
func (g *Guard) CheckPassword(ctx context.Context, a Attempt) (Outcome, error) {
	out, err := g.checkPassword(ctx, a)
	if err == nil && out.Decision != DecisionIPBlocked {
		g.observe(ctx, a, out)
	}
	return out, err
}

// PassesIPBlock reports whether an attempt may go on despite v: only an
// automatic block, and only for a device cookie bound to this very account
// (a user behind the same NAT as an attacker). Feed and admin blocks apply
// to everyone.
func PassesIPBlock(v IPVerdict, user *store.User, device *DeviceCookie) bool {
	return !v.Blocked || (v.AutomaticOnly && user != nil && device != nil && device.UserID == user.ID)
}

func (g *Guard) checkPassword(ctx context.Context, a Attempt) (Outcome, error) {
	var verdict IPVerdict
	if a.IP != nil {
		verdict = *a.IP
	} else {
		verdict = g.CheckIP(a.TenantID, a.ClientIP)
	}
	if !PassesIPBlock(verdict, a.User, a.Device) {
		return Outcome{Decision: DecisionIPBlocked, IP: verdict}, nil
	}
	p, err := g.Policy(ctx, a.TenantID)
	if err != nil {
		return Outcome{}, err
	}
	src, err := g.classify(ctx, a, p)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Class: src.key.Class, Scope: src.key.Scope, Threshold: src.threshold, IP: verdict,
		subject: src.key.Subject}
	mac := g.mac(src.key.Subject, a.Password)
	var notBefore time.Time
	if a.User != nil {
		notBefore = a.User.LastPasswordChangeDateTime
	}
	err = g.admit(ctx, src, p, mac, notBefore, &out)
	if err != nil && src.shared {
		var fallback bool
		if src, fallback, err = g.sharedStateDown(src, p, err); fallback {
			out = Outcome{Class: src.key.Class, Scope: src.key.Scope, Threshold: src.threshold, IP: verdict, subject: src.key.Subject}
			err = g.admit(ctx, src, p, mac, notBefore, &out)
		}
	}
	if err != nil {
		return out, err
	}
	if out.Refused() && src.key.Class == ClassDeviceCookie {
		// A device cookie that used up its own budget is no longer evidence
		// of the user's device (OWASP): the attempt is judged as if it came
		// without one, by network or as unfamiliar.
		a.Device = nil
		return g.checkPassword(ctx, a)
	}
	if out.Refused() {
		return out, nil
	}
	encoded := g.dummy
	if out.Decision == DecisionVerified && a.User != nil && a.User.PasswordHash != "" {
		encoded, out.Verified = a.User.PasswordHash, true
	}
	var ok bool
	var verr error
	prio, source := hashpool.Normal, NetworkOf(a.ClientIP)
	if out.Class != ClassUnfamiliar {
		prio, source = hashpool.Familiar, "" // earned: served first, never capped by others' floods
	}
	out.QueueWait, err = g.pool.DoFor(ctx, prio, source, func() { ok, verr = password.Verify(encoded, a.Password) })
	if out.Decision == DecisionRepeatedTypo {
		return out, err // nothing reserved, nothing to settle
	}
	if err != nil || verr != nil {
		g.release(ctx, src, p, &out) // the slot is returned unused
		if verr != nil {
			// A stored hash we cannot use is an operator problem, never a
			// successful sign-in.
			return out, fmt.Errorf("password check for user %s: %w", a.User.ID, verr)
		}
		return out, fmt.Errorf("password check: %w", err)
	}
	out.Correct = ok && out.Verified
	out.NeedsRehash = out.Correct && password.NeedsRehash(encoded, g.params)
	if err := g.settle(ctx, a, src, p, mac, &out); err != nil {
		return out, err
	}
	if out.Correct && a.ClientIP.IsValid() && (src.lastSuccess.IsZero() || g.now().Sub(src.lastSuccess) >= networkTouchInterval) {
		network, now := NetworkOf(a.ClientIP), g.now()
		if err := g.store.TouchNetwork(ctx, a.TenantID, a.User.ID, network, now); err != nil {
			return out, fmt.Errorf("remember familiar network: %w", err)
		}
		g.cache.putNetwork(a.TenantID+"|"+a.User.ID+"|"+network, now, now)
		g.cache.forgetUser(a.TenantID + "|" + a.User.ID)
	}
	return out, nil
}

// observe feeds the attack detector; a tripped rule becomes a block record.
func (g *Guard) observe(ctx context.Context, a Attempt, out Outcome) {
	if g.ip.detect == nil || out.IP.Trusted {
		return // trusted locations are never blocked, so never counted
	}
	subject := out.subject
	if subject == "" { // refused before classification (policy or store error)
		return
	}
	dets := g.ip.detect.observe(ctx, a.ClientIP, subject, a.LoginKey, a.User == nil, !out.Correct, g.now())
	if len(dets) > 0 {
		if err := g.recordDetections(ctx, dets); err != nil {
			// The sign-in itself is unaffected; the next trip retries.
			g.logger.Error("recording an attack detection failed", "error", err, "rule", dets[0].Rule)
		}
	}
}

// admit decides, atomically for this budget, whether the attempt may be
// verified, and if so reserves a slot.
func (g *Guard) admit(ctx context.Context, src source, p store.LockoutPolicy, mac string, notBefore time.Time, out *Outcome) error {
	if src.shared {
		return g.admitShared(ctx, src, p, mac, notBefore, out)
	}
	k := src.key.String()
	mu := g.lockFor(k)
	mu.Lock()
	defer mu.Unlock()
	st, err := g.readBudget(ctx, src)
	if err != nil {
		return fmt.Errorf("read budget: %w", err)
	}
	now := g.now()
	normalise(&st, p, src.threshold, now)
	out.fill(st)
	switch {
	case locked(st, now):
		out.Decision, out.KnownWrong = DecisionLocked, hasTypo(st, mac, notBefore)
	case hasTypo(st, mac, notBefore):
		out.Decision = DecisionRepeatedTypo
	case len(st.Failures)+g.inflight.get(k) >= src.threshold:
		// Slots are all taken by attempts still being verified: locked
		// means locked, whatever those attempts turn out to be.
		out.Decision = DecisionLocked
	default:
		out.Decision = DecisionVerified
		g.inflight.add(k, 1)
	}
	return nil
}

// readBudget reads a budget, from the cache when it is fresh.
func (g *Guard) readBudget(ctx context.Context, src source) (store.BudgetState, error) {
	cached := src.backend == budgetBackend(g.store)
	k := src.key.String()
	if cached {
		if st, ok := g.cache.budget(k, g.now()); ok {
			st.Failures, st.Typos = slices.Clone(st.Failures), slices.Clone(st.Typos)
			return st, nil
		}
	}
	st, err := src.backend.GetBudget(ctx, src.key)
	if err == nil && cached {
		g.cache.putBudget(k, st, g.now())
	}
	return st, err
}

// currentBudget reads src's stored budget for a compare-and-swap and
// brings it up to now under policy p (expired failures and locks gone).
func (g *Guard) currentBudget(ctx context.Context, src source, p store.LockoutPolicy) (store.BudgetState, time.Time, error) {
	st, err := src.backend.GetBudget(ctx, src.key)
	if err != nil {
		return st, time.Time{}, fmt.Errorf("read budget: %w", err)
	}
	now := g.now()
	normalise(&st, p, src.threshold, now)
	return st, now, nil
}

// maxCASRetries bounds retries when another process changed the budget
// between read and write.
const maxCASRetries = 8

// settle returns the reserved slot and records the outcome.
func (g *Guard) settle(ctx context.Context, a Attempt, src source, p store.LockoutPolicy, mac string, out *Outcome) error {
	k := src.key.String()
	mu := g.lockFor(k)
	mu.Lock()
	defer mu.Unlock()
	if !src.shared {
		defer g.inflight.add(k, -1)
	}
	for range maxCASRetries {
		st, now, err := g.currentBudget(ctx, src, p)
		if err != nil {
			return err
		}
		held := dropReservation(&st, out.reservation, now)
		if out.Correct && st.Version > 0 && len(st.Failures) == 0 && len(st.Typos) == 0 && !held {
			// Nothing for the success to reset: skip the write, which under
			// attack would queue behind the log for the database's one writer.
			out.fill(st)
			return nil
		}
		lockedNow := false
		if out.Correct {
			recordSuccess(&st)
		} else if lockedNow = recordFailure(&st, p, src.threshold, mac, now); lockedNow && a.User != nil {
			st.LockoutID = uuid.NewString()
		}
		st.UpdatedAt = now
		stampExpiry(&st, p)
		version, err := src.backend.PutBudget(ctx, st)
		if errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return fmt.Errorf("write budget: %w", err)
		}
		if src.backend == budgetBackend(g.store) {
			st.Version = version
			g.cache.putBudget(k, st, now)
		}
		out.fill(st)
		out.LockedNow = lockedNow
		if lockedNow && a.User != nil {
			return g.recordLockout(ctx, a, src, st)
		}
		return nil
	}
	return fmt.Errorf("write budget %s: %w after %d retries", k, store.ErrConflict, maxCASRetries)
}

// recordLockout writes the audit record of a new lock and announces it.
func (g *Guard) recordLockout(ctx context.Context, a Attempt, src source, st store.BudgetState) error {
	l := store.Lockout{ID: st.LockoutID, TenantID: a.TenantID, Subject: a.User.ID, Class: src.key.Class,
		Scope: src.key.Scope, StartedAt: st.LockedAt, ExpiresAt: st.LockedUntil, FailureCount: len(st.Failures),
		Reason: aadsts.MustLookup(aadsts.IdsLocked).FailureReason}
	if err := g.store.CreateLockout(ctx, l); err != nil {
		return fmt.Errorf("record lockout: %w", err)
	}
	g.events.Publish(events.Event{Type: events.AccountLocked, At: st.LockedAt, TenantID: a.TenantID, UserID: a.User.ID,
		UPN: a.User.UserPrincipalName, Details: map[string]string{"class": src.key.Class, "scope": src.key.Scope,
			"lockedUntil": st.LockedUntil.UTC().Format(time.RFC3339), "lockoutId": l.ID}})
	return nil
}
