// Package guard is the one gate every credential check passes through. It
// decides whether an attempt may be verified at all, verifies it inside the
// bounded hash pool, and reports what happened so the caller can log it.
//
// Today the gate equalises the cost of unknown and known accounts (a dummy
// hash with the current parameters) and bounds hashing; the lockout budgets
// and IP verdicts of the pipeline in ARCHITECTURE.md plug in here, in front
// of the hash, so no protocol can reach a password check without them.
package guard

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// ErrOverloaded means the hash pool refused the attempt; answer quickly with
// a throttling error and Retry-After.
var ErrOverloaded = hashpool.ErrOverloaded

// Guard is the credential gate.
type Guard struct {
	pool   *hashpool.Pool
	params password.Params
	dummy  string // a hash of a random secret with the current parameters
}

// New returns a guard hashing with params inside pool.
func New(pool *hashpool.Pool, params password.Params) (*Guard, error) {
	secret := make([]byte, 24)
	_, _ = rand.Read(secret)
	dummy, err := password.Hash(base64.RawStdEncoding.EncodeToString(secret), params)
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	return &Guard{pool: pool, params: params, dummy: dummy}, nil
}

// PasswordAttempt is one password presented for one (possibly unknown) account.
type PasswordAttempt struct {
	User     *store.User // nil when the name matched no account
	Password string
	ClientIP netip.Addr
}

// Outcome says what the gate did.
type Outcome struct {
	// Verified is true when a real hash of this user's password was checked.
	Verified bool
	// Correct is true only when Verified and the password matched.
	Correct bool
	// NeedsRehash is true when the stored hash uses old parameters or bcrypt.
	NeedsRehash bool
	// QueueWait is the time spent waiting for a hash worker.
	QueueWait time.Duration
}

// CheckPassword verifies a password. Unknown accounts and accounts without a
// password cost one full dummy verification with the current parameters, so
// neither the response nor its timing tells them apart from a wrong password.
func (g *Guard) CheckPassword(ctx context.Context, a PasswordAttempt) (Outcome, error) {
	var out Outcome
	encoded := g.dummy
	if a.User != nil && a.User.PasswordHash != "" {
		encoded, out.Verified = a.User.PasswordHash, true
	}
	var ok bool
	var verr error
	wait, err := g.pool.Do(ctx, func() { ok, verr = password.Verify(encoded, a.Password) })
	out.QueueWait = wait
	if err != nil {
		return out, fmt.Errorf("password check: %w", err)
	}
	if verr != nil {
		// A stored hash we cannot use is an operator problem, never a
		// successful sign-in.
		return out, fmt.Errorf("password check for user %s: %w", a.User.ID, verr)
	}
	out.Correct = ok && out.Verified
	out.NeedsRehash = out.Correct && password.NeedsRehash(encoded, g.params)
	return out, nil
}

// Rehash runs fn (which re-hashes a verified password) inside the pool, so
// upgrades are bounded like every other hash.
func (g *Guard) Rehash(ctx context.Context, fn func() error) error {
	var ferr error
	if _, err := g.pool.Do(ctx, func() { ferr = fn() }); err != nil {
		return fmt.Errorf("rehash: %w", err)
	}
	return ferr
}

// IsOverloaded reports whether err means the pool refused work.
func IsOverloaded(err error) bool { return errors.Is(err, hashpool.ErrOverloaded) }
