package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// NewApp describes an application registration to create.
type NewApp struct {
	Name               string
	Public             bool
	ClientID           string // optional fixed GUID
	RedirectURIs       []string
	AllowedGrants      []string
	SecretLifetime     time.Duration // confidential apps; default 180 days like Entra's portal
	AllowPasswordGrant bool
}

// AddApp registers an app. For a confidential app it returns the generated
// client secret, which is shown once and stored only as a hash.
func (s *Service) AddApp(ctx context.Context, t store.Tenant, na NewApp) (store.App, string, error) {
	if strings.TrimSpace(na.Name) == "" {
		return store.App{}, "", invalidf("an app needs a name")
	}
	clientID := uuid.NewString()
	if na.ClientID != "" {
		id, err := uuid.Parse(na.ClientID)
		if err != nil {
			return store.App{}, "", invalidf("client ID %q is not a GUID", na.ClientID)
		}
		clientID = id.String()
	}
	for _, u := range na.RedirectURIs {
		if err := checkRedirectURI(u, na.Public); err != nil {
			return store.App{}, "", err
		}
	}
	grants := append([]string(nil), na.AllowedGrants...)
	if na.AllowPasswordGrant {
		grants = append(grants, store.GrantPassword, store.GrantRefreshToken)
	}
	if !na.Public {
		grants = append(grants, store.GrantClientCredentials)
	}
	a := store.App{ClientID: clientID, TenantID: t.ID, DisplayName: strings.TrimSpace(na.Name), Public: na.Public,
		RedirectURIs: na.RedirectURIs, AllowedGrants: dedupe(grants), CreatedAt: s.now()}
	var secret string
	if !na.Public {
		var cs store.ClientSecret
		secret, cs = NewClientSecret(s.now(), na.SecretLifetime)
		a.Secrets = []store.ClientSecret{cs}
	}
	if err := s.store.CreateApp(ctx, a); err != nil {
		return store.App{}, "", fmt.Errorf("add app %s: %w", a.DisplayName, err)
	}
	return a, secret, nil
}

// NewClientSecret generates a 256-bit secret and its stored form.
func NewClientSecret(now time.Time, lifetime time.Duration) (string, store.ClientSecret) {
	if lifetime <= 0 {
		lifetime = 180 * 24 * time.Hour
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	secret := base64.RawURLEncoding.EncodeToString(b)
	return secret, store.ClientSecret{ID: uuid.NewString(), Hash: HashClientSecret(secret), Hint: secret[:3],
		CreatedAt: now, ExpiresAt: now.Add(lifetime)}
}

// HashClientSecret is the stored form of a client secret. A fast hash is
// right here: the secret is 256 random bits, not a human password.
func HashClientSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func checkRedirectURI(raw string, public bool) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" || len(raw) > 256 {
		return invalidf("redirect URI %q must be an absolute URI without a fragment, at most 256 characters", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" || h == "::1" {
			return nil
		}
		return invalidf("redirect URI %q: plain http is allowed only for localhost and loopback addresses", raw)
	default:
		if public { // native apps may use a private-use scheme (RFC 8252)
			return nil
		}
		return invalidf("redirect URI %q: confidential apps need https", raw)
	}
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
