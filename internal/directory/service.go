package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Store is what the directory needs from storage.
type Store interface {
	store.Tenants
	store.Users
	store.Apps
}

// Service creates and changes directory objects. It is the only writer of
// passwords, so the policy and hashing parameters apply everywhere.
type Service struct {
	store  Store
	policy password.Policy
	params password.Params
	now    func() time.Time
}

// NewService returns a directory service.
func NewService(s Store, policy password.Policy, params password.Params) *Service {
	return &Service{store: s, policy: policy, params: params, now: func() time.Time { return time.Now().UTC() }}
}

// WithClock replaces the clock (tests).
func (s *Service) WithClock(now func() time.Time) *Service { s.now = now; return s }

// Params returns the current hashing parameters.
func (s *Service) Params() password.Params { return s.params }

// Policy returns the configured password policy (without a tenant's terms).
func (s *Service) Policy() password.Policy { return s.policy }

// ErrInvalid wraps every input validation failure; the message says which.
var ErrInvalid = errors.New("invalid input")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// CreateTenant creates a tenant owning domain.
func (s *Service) CreateTenant(ctx context.Context, displayName, domain string) (store.Tenant, error) {
	d, err := NormaliseDomain(domain)
	if err != nil {
		return store.Tenant{}, err
	}
	if displayName == "" {
		displayName = d
	}
	t := store.Tenant{ID: uuid.NewString(), DisplayName: displayName, Domains: []string{d}, CreatedAt: s.now()}
	if err := s.store.CreateTenant(ctx, t); err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant %s: %w", d, err)
	}
	return t, nil
}

// NewUser describes a user to create. Exactly one of Password and
// PasswordHash may be set (or neither: no password yet).
type NewUser struct {
	UserPrincipalName             string
	DisplayName                   string
	Mail                          string
	Password                      string
	PasswordHash                  string
	AccountEnabled                bool
	ForceChangePasswordNextSignIn bool
}

// AddUser validates, hashes and stores one user.
func (s *Service) AddUser(ctx context.Context, t store.Tenant, nu NewUser) (store.User, error) {
	u, err := s.prepareUser(t, nu)
	if err != nil {
		return store.User{}, err
	}
	if err := s.store.CreateUsers(ctx, u); err != nil {
		return store.User{}, fmt.Errorf("add user %s: %w", u.UserPrincipalName, err)
	}
	return u, nil
}

// CheckNewUser applies every check AddUser would (name, domain, policy or
// hash) without storing anything, so callers can validate before writing
// related objects.
func (s *Service) CheckNewUser(t store.Tenant, nu NewUser) error {
	_, err := s.prepareUser(t, nu)
	return err
}

// prepareUser turns NewUser into a storable user, hashing a plaintext password.
func (s *Service) prepareUser(t store.Tenant, nu NewUser) (store.User, error) {
	upn, err := DisplayUPN(nu.UserPrincipalName)
	if err != nil {
		return store.User{}, err
	}
	key, _ := LoginKey(upn)
	if !hasDomain(t, DomainOf(key)) {
		return store.User{}, invalidf("the domain of %s is not a verified domain of the tenant (%v)", upn, t.Domains)
	}
	now := s.now()
	u := store.User{
		ID: uuid.NewString(), TenantID: t.ID, UserPrincipalName: upn, LoginKey: key, DisplayName: nu.DisplayName,
		AccountEnabled: nu.AccountEnabled, ForceChangePasswordNextSignIn: nu.ForceChangePasswordNextSignIn,
		LastPasswordChangeDateTime: now, CreatedAt: now, UpdatedAt: now,
	}
	if u.DisplayName == "" {
		return store.User{}, invalidf("displayName is required for %s", upn)
	}
	if nu.Mail != "" {
		if u.Mail, err = DisplayUPN(nu.Mail); err != nil {
			return store.User{}, fmt.Errorf("mail of %s: %w", upn, err)
		}
		u.MailKey, _ = LoginKey(u.Mail)
	}
	switch {
	case nu.Password != "" && nu.PasswordHash != "":
		return store.User{}, invalidf("give either a password or a password hash for %s, not both", upn)
	case nu.Password != "":
		if u.PasswordHash, err = s.hashChecked(nu.Password, u, t.BannedPasswordTerms); err != nil {
			return store.User{}, err
		}
	case nu.PasswordHash != "":
		if err := password.CheckHash(nu.PasswordHash); err != nil {
			return store.User{}, invalidf("password hash for %s: %v", upn, err)
		}
		u.PasswordHash = nu.PasswordHash
	}
	return u, nil
}

func hasDomain(t store.Tenant, domain string) bool {
	for _, d := range t.Domains {
		if d == domain {
			return true
		}
	}
	return false
}

// hashChecked applies the password policy with the tenant's banned terms,
// then hashes.
func (s *Service) hashChecked(plain string, u store.User, banned []string) (string, error) {
	policy := s.policy
	policy.BannedTerms = append(append([]string(nil), policy.BannedTerms...), banned...)
	if err := policy.Check(plain, password.Subject{UPN: u.UserPrincipalName, DisplayName: u.DisplayName, Mail: u.Mail}); err != nil {
		return "", fmt.Errorf("%w: password for %s rejected: %w", ErrInvalid, u.UserPrincipalName, err)
	}
	h, err := password.Hash(plain, s.params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// FindUser resolves a UPN, mail or object ID to a user of the tenant.
func (s *Service) FindUser(ctx context.Context, t store.Tenant, ref string) (store.User, error) {
	if _, err := uuid.Parse(ref); err == nil {
		return s.store.GetUser(ctx, t.ID, ref)
	}
	key, err := LoginKey(ref)
	if err != nil {
		return store.User{}, err
	}
	return s.store.UserByLogin(ctx, t.ID, key)
}

// SetPassword applies the policy and stores a new password, with any
// further changes in also (a reset's session revocation, say) in the same
// write. The write goes through ModifyUser, so the time spent hashing
// cannot let it undo a change made meanwhile.
func (s *Service) SetPassword(ctx context.Context, u store.User, plain string, forceChange bool,
	also ...func(*store.User)) (store.User, error) {
	h, err := s.newPasswordHash(ctx, u, plain)
	if err != nil {
		return store.User{}, err
	}
	return s.ModifyUser(ctx, u.TenantID, u.ID, func(cur *store.User) {
		cur.PasswordHash, cur.ForceChangePasswordNextSignIn, cur.LastPasswordChangeDateTime = h, forceChange, s.now()
		for _, change := range also {
			change(cur)
		}
	})
}

// ChangePassword is SetPassword by the user (the forced change at sign-in),
// applied only if the account did not change since u was read: a hash
// takes long enough for an administrator to disable the account or revoke
// its sessions meanwhile, and the user's change must not survive that.
// A change made in between is store.ErrConflict.
func (s *Service) ChangePassword(ctx context.Context, u store.User, plain string) (store.User, error) {
	h, err := s.newPasswordHash(ctx, u, plain)
	if err != nil {
		return store.User{}, err
	}
	prev := u.UpdatedAt
	u.PasswordHash, u.ForceChangePasswordNextSignIn = h, false
	u.LastPasswordChangeDateTime, u.UpdatedAt = s.now(), later(prev, s.now())
	return u, s.store.UpdateUserIfUnchanged(ctx, u, prev)
}

// newPasswordHash checks plain against the policy and the tenant's banned
// terms for u, and hashes it with the current parameters.
func (s *Service) newPasswordHash(ctx context.Context, u store.User, plain string) (string, error) {
	t, err := s.store.GetTenant(ctx, u.TenantID)
	if err != nil {
		return "", fmt.Errorf("tenant of %s: %w", u.UserPrincipalName, err)
	}
	return s.hashChecked(plain, u, t.BannedPasswordTerms)
}

// maxModifyAttempts bounds ModifyUser's rereads under contention.
const maxModifyAttempts = 8

// ModifyUser applies change to the user as stored now and writes it only if
// nobody wrote in between, reading again and reapplying otherwise, so a
// change never undoes another made meanwhile (an administrator disabling
// the account while another's reset is hashing, say). It answers the user
// as written; store.ErrNotFound if the user is gone.
func (s *Service) ModifyUser(ctx context.Context, tenantID, id string, change func(*store.User)) (store.User, error) {
	for attempt := 1; ; attempt++ {
		u, err := s.store.GetUser(ctx, tenantID, id)
		if err != nil {
			return store.User{}, err
		}
		prev := u.UpdatedAt
		change(&u)
		u.UpdatedAt = later(prev, s.now())
		err = s.store.UpdateUserIfUnchanged(ctx, u, prev)
		if err == nil || !errors.Is(err, store.ErrConflict) || attempt == maxModifyAttempts {
			return u, err
		}
	}
}

// Rehash stores a new hash of a password that just verified, so old
// parameters and migrated bcrypt hashes move to the current ones. The
// password policy is not applied: the user is not choosing a password. It
// applies only to the account as u saw it (ErrConflict otherwise), so an
// old copy cannot undo a change made meanwhile; the upgrade then simply
// waits for the next sign-in.
func (s *Service) Rehash(ctx context.Context, u store.User, plain string) error {
	h, err := password.Hash(plain, s.params)
	if err != nil {
		return fmt.Errorf("rehash: %w", err)
	}
	prev := u.UpdatedAt
	u.PasswordHash, u.UpdatedAt = h, later(prev, s.now())
	return s.store.UpdateUserIfUnchanged(ctx, u, prev)
}

// later is now, or just after prev when the clock has not moved past it,
// so a conditional update always moves the version forward.
func later(prev, now time.Time) time.Time {
	if !now.After(prev) {
		return prev.Add(time.Microsecond)
	}
	return now
}

// SetEnabled enables or disables sign-in for u.
func (s *Service) SetEnabled(ctx context.Context, u store.User, enabled bool) (store.User, error) {
	return s.ModifyUser(ctx, u.TenantID, u.ID, func(cur *store.User) { cur.AccountEnabled = enabled })
}

// Limits on custom banned password terms, as on Entra.
const (
	MinBannedTermLength = 4
	MaxBannedTermLength = 16
	MaxBannedTerms      = 1000
)

// SetBannedPasswordTerms replaces the tenant's custom banned password
// terms. They apply to every password set from now on (matching is
// case-insensitive, after Entra's substitutions 0->o, 1->l, $->s, @->a).
func (s *Service) SetBannedPasswordTerms(ctx context.Context, t store.Tenant, terms []string) error {
	_, _, err := s.UpdateBannedPasswordTerms(ctx, t, func([]string) ([]string, error) { return terms, nil })
	return err
}

// UpdateBannedPasswordTerms replaces the terms with update(current),
// atomically, after checking the result (ErrInvalid). It returns the terms
// before and after, sorted.
func (s *Service) UpdateBannedPasswordTerms(ctx context.Context, t store.Tenant,
	update func(current []string) ([]string, error)) (before, after []string, err error) {
	return s.store.UpdateBannedPasswordTerms(ctx, t.ID, func(current []string) ([]string, error) {
		terms, err := update(current)
		if err != nil {
			return nil, err
		}
		return checkBannedTerms(terms)
	})
}

func checkBannedTerms(terms []string) ([]string, error) {
	clean := make([]string, 0, len(terms))
	for _, term := range terms {
		term = strings.TrimSpace(term)
		if n := len([]rune(term)); n < MinBannedTermLength || n > MaxBannedTermLength {
			return nil, invalidf("banned term %q must be %d to %d characters long", term, MinBannedTermLength, MaxBannedTermLength)
		}
		clean = append(clean, term)
	}
	clean = dedupe(clean)
	if len(clean) > MaxBannedTerms {
		return nil, invalidf("at most %d banned terms, got %d", MaxBannedTerms, len(clean))
	}
	return clean, nil
}
