package adminapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

const testPublicURL = "https://login.contoso.test"

type authFixture struct {
	db     *sqlstore.DB
	keys   *oidc.KeySet
	tenant string
	user   store.User
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &authFixture{db: db, keys: oidc.NewKeySet(db, time.Now), tenant: uuid.NewString()}
	if err := db.CreateTenant(ctx, store.Tenant{ID: f.tenant, DisplayName: "Contoso", Domains: []string{"contoso.test"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.user = store.User{ID: uuid.NewString(), TenantID: f.tenant, UserPrincipalName: "admin@contoso.test",
		LoginKey: "admin@contoso.test", DisplayName: "Admin", AccountEnabled: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := db.CreateUsers(ctx, f.user); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRoleAssignment(ctx, store.RoleAssignment{ID: uuid.NewString(), TenantID: f.tenant, PrincipalID: f.user.ID,
		RoleDefinitionID: rbac.GlobalAdministrator, DirectoryScopeID: "/", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := oidc.EnsureKeys(ctx, db, time.Now()); err != nil {
		t.Fatal(err)
	}
	return f
}

// token signs claims with the fixture's current RS256 key.
func (f *authFixture) token(t *testing.T, aud string, issued time.Time, lifetime time.Duration) string {
	t.Helper()
	signer, err := f.keys.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f.signWith(t, signer, aud, issued, lifetime)
}

func (f *authFixture) signWith(t *testing.T, signer jose.Signer, aud string, issued time.Time, lifetime time.Duration) string {
	t.Helper()
	claims := map[string]any{"iss": testPublicURL + "/" + f.tenant + "/v2.0", "aud": aud, "iat": issued.Unix(),
		"nbf": issued.Unix(), "exp": issued.Add(lifetime).Unix(), "tid": f.tenant, "oid": f.user.ID, "uti": uuid.NewString()}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *authFixture) serve(now time.Time) http.Handler {
	mux := http.NewServeMux()
	New(Config{Store: f.db, Keys: f.keys, PublicURL: testPublicURL, Now: func() time.Time { return now }}).Register(mux)
	return httpx.RequestIDs(httpx.NewClientIPResolver(nil).Middleware(mux))
}

func call(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/v1.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func (f *authFixture) refusals(t *testing.T) int {
	t.Helper()
	rows, err := f.db.QueryAudits(context.Background(), store.AuditQuery{TenantID: f.tenant, Activity: "Admin API call refused"})
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// TestExpiredAndMisaddressedTokensRefusedAndAudited: with a clock two hours
// ahead, a one-hour token is refused as expired; a token for another
// audience is refused; each genuine token's refusal is audited once however
// often it is replayed. A token signed by a key that is not ours is refused
// and not audited (it vouches for no tenant).
func TestExpiredAndMisaddressedTokensRefusedAndAudited(t *testing.T) {
	f := newAuthFixture(t)
	issued := time.Now()
	good := f.token(t, oidc.GraphAppID, issued, time.Hour)
	if rec := call(f.serve(issued), good); rec.Code != http.StatusOK {
		t.Fatalf("fresh token: %d %s", rec.Code, rec.Body)
	}
	later := f.serve(issued.Add(2 * time.Hour))
	for range 3 {
		if rec := call(later, good); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "expired") {
			t.Fatalf("expired token: %d %s", rec.Code, rec.Body)
		}
	}
	if n := f.refusals(t); n != 1 {
		t.Fatalf("%d audit records for one expired token replayed three times, want 1", n)
	}
	other := f.token(t, "api://payroll", issued, time.Hour)
	if rec := call(f.serve(issued), other); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "audience") {
		t.Fatalf("other audience: %d %s", rec.Code, rec.Body)
	}
	if n := f.refusals(t); n != 2 {
		t.Fatalf("%d audit records, want 2", n)
	}
	forger := newAuthFixture(t)
	forger.tenant, forger.user = f.tenant, f.user
	forged := forger.token(t, oidc.GraphAppID, issued, time.Hour)
	if rec := call(f.serve(issued), forged); rec.Code != http.StatusUnauthorized {
		t.Fatalf("token signed by another key: %d %s", rec.Code, rec.Body)
	}
	if n := f.refusals(t); n != 2 {
		t.Fatalf("a forged token was audited in the tenant it claims: %d records", n)
	}
}

// TestTokenAlgorithmsAndKeys: the ES256 tokens Portcullis issues for its
// own API are accepted like RS256 ones, but a token cannot pick the
// algorithm for a key: an ES256 signature under the RS256 key's kid is
// refused.
func TestTokenAlgorithmsAndKeys(t *testing.T) {
	f := newAuthFixture(t)
	issued := time.Now()
	self, err := f.keys.SelfSigner(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rec := call(f.serve(issued), f.signWith(t, self, oidc.GraphAppID, issued, time.Hour)); rec.Code != http.StatusOK {
		t.Fatalf("ES256 token: %d %s", rec.Code, rec.Body)
	}
	rs, err := f.keys.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", rs.Options().ExtraHeaders["kid"])
	forged, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: stranger}, opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := call(f.serve(issued), f.signWith(t, forged, oidc.GraphAppID, issued, time.Hour))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "signature is invalid") {
		t.Fatalf("ES256 token under the RS256 kid: %d %s", rec.Code, rec.Body)
	}
}
