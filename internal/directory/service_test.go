package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

var fastParams = password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

func newService(t *testing.T) (*directory.Service, *sqlstore.DB, store.Tenant) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := directory.NewService(db, password.DefaultPolicy(), fastParams)
	tn, err := svc.CreateTenant(context.Background(), "Contoso", "Contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	return svc, db, tn
}

func TestAddUserNormalisesAndHashes(t *testing.T) {
	svc, db, tn := newService(t)
	ctx := context.Background()
	u, err := svc.AddUser(ctx, tn, directory.NewUser{UserPrincipalName: "Alice@Contoso.test", DisplayName: "Alice",
		Mail: "A.Smith@contoso.test", Password: "correct horse battery", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if u.UserPrincipalName != "Alice@Contoso.test" || u.LoginKey != "alice@contoso.test" || u.MailKey != "a.smith@contoso.test" {
		t.Fatalf("names: %+v", u)
	}
	if ok, err := password.Verify(u.PasswordHash, "correct horse battery"); !ok || err != nil {
		t.Fatalf("stored hash does not verify: %v", err)
	}
	got, err := svc.FindUser(ctx, tn, "A.SMITH@contoso.test")
	if err != nil || got.ID != u.ID {
		t.Fatalf("FindUser by mail variant = %+v, %v", got, err)
	}
	if _, err := svc.FindUser(ctx, tn, u.ID); err != nil {
		t.Fatalf("FindUser by object ID: %v", err)
	}
	_, err = db.UserByLogin(ctx, tn.ID, "alice@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
}

func TestAddUserRejections(t *testing.T) {
	svc, _, tn := newService(t)
	ctx := context.Background()
	tests := []struct {
		name string
		nu   directory.NewUser
		want string
	}{
		{"foreign domain", directory.NewUser{UserPrincipalName: "bob@fabrikam.test", DisplayName: "Bob", Password: "correct horse battery"}, "not a verified domain"},
		{"common password", directory.NewUser{UserPrincipalName: "bob@contoso.test", DisplayName: "Bob", Password: "password"}, "rejected"},
		{"contains name", directory.NewUser{UserPrincipalName: "robert@contoso.test", DisplayName: "Bob", Password: "robert-is-great-99"}, "rejected"},
		{"hostile hash", directory.NewUser{UserPrincipalName: "bob@contoso.test", DisplayName: "Bob", PasswordHash: "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"}, "password hash"},
		{"no display name", directory.NewUser{UserPrincipalName: "bob@contoso.test", Password: "correct horse battery"}, "displayName"},
	}
	for _, tt := range tests {
		_, err := svc.AddUser(ctx, tn, tt.nu)
		if !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrInvalid mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestImportCSVAllOrNothing(t *testing.T) {
	svc, db, tn := newService(t)
	ctx := context.Background()
	bc, err := bcrypt.GenerateFromPassword([]byte("legacy pass phrase"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bad := "userPrincipalName,displayName,password,passwordHash\n" +
		"ann@contoso.test,Ann,first good phrase,\n" +
		"ben@contoso.test,Ben,password,\n" + // common
		"ANN@contoso.test,Ann Again,another good phrase,\n" // duplicate of line 2
	_, err = svc.ImportCSV(ctx, tn, strings.NewReader(bad))
	var ie *directory.ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != 2 || !strings.HasPrefix(ie.Problems[0], "line 3:") ||
		!strings.Contains(ie.Problems[1], "line 2") {
		t.Fatalf("import errors = %v", err)
	}
	if users, _ := db.ListUsers(ctx, tn.ID, "", 10); len(users) != 0 {
		t.Fatalf("a failed import stored %d users", len(users))
	}
	good := "userPrincipalName,displayName,password,passwordHash\n" +
		"ann@contoso.test,Ann, spaces kept ,\n" +
		"ben@contoso.test,Ben,," + string(bc) + "\n"
	users, err := svc.ImportCSV(ctx, tn, strings.NewReader(good))
	if err != nil || len(users) != 2 {
		t.Fatalf("import = %d users, %v", len(users), err)
	}
	if ok, _ := password.Verify(users[0].PasswordHash, " spaces kept "); !ok {
		t.Fatalf("plaintext password was altered on import")
	}
	if ok, _ := password.Verify(users[1].PasswordHash, "legacy pass phrase"); !ok {
		t.Fatalf("bcrypt hash not kept")
	}
	for _, header := range []string{"upn,displayName,password\n", "userPrincipalName,displayName\n", "userPrincipalName,displayName,password\n"} {
		if _, err := svc.ImportCSV(ctx, tn, strings.NewReader(header)); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("header %q: err = %v, want ErrInvalid", header, err)
		}
	}
}

func TestAddApp(t *testing.T) {
	svc, db, tn := newService(t)
	ctx := context.Background()
	app, secret, err := svc.AddApp(ctx, tn, directory.NewApp{Name: "Payroll", RedirectURIs: []string{"https://payroll.contoso.test/cb"}})
	if err != nil || len(secret) < 40 {
		t.Fatalf("AddApp = %v, secret length %d", err, len(secret))
	}
	stored, err := db.GetApp(ctx, app.ClientID)
	if err != nil || len(stored.Secrets) != 1 || stored.Secrets[0].Hash != directory.HashClientSecret(secret) ||
		strings.Contains(stored.Secrets[0].Hash, secret) || !stored.Allows(store.GrantClientCredentials) || stored.Allows(store.GrantPassword) {
		t.Fatalf("stored app = %+v, %v", stored, err)
	}
	pub, secret, err := svc.AddApp(ctx, tn, directory.NewApp{Name: "CLI", Public: true, AllowPasswordGrant: true,
		ClientID: "04B07795-8DDB-461A-BBEE-02F9E1BF7B46", RedirectURIs: []string{"http://localhost", "myapp://auth"}})
	if err != nil || secret != "" || pub.ClientID != "04b07795-8ddb-461a-bbee-02f9e1bf7b46" || !pub.Allows(store.GrantPassword) {
		t.Fatalf("public app = %+v, %q, %v", pub, secret, err)
	}
	for _, bad := range []directory.NewApp{
		{Name: "x", RedirectURIs: []string{"http://evil.test/cb"}},
		{Name: "x", RedirectURIs: []string{"myapp://cb"}},
		{Name: "x", RedirectURIs: []string{"https://a.test/#frag"}},
		{Name: "x", ClientID: "not-a-guid"},
		{Name: " "},
	} {
		if _, _, err := svc.AddApp(ctx, tn, bad); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("AddApp(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestTenantBannedTerms(t *testing.T) {
	svc, db, tn := newService(t)
	ctx := context.Background()
	if err := svc.SetBannedPasswordTerms(ctx, tn, []string{"contoso", "Winter"}); err != nil {
		t.Fatal(err)
	}
	tn, _ = db.GetTenant(ctx, tn.ID)
	_, err := svc.AddUser(ctx, tn, directory.NewUser{UserPrincipalName: "bob@contoso.test", DisplayName: "Bob", Password: "C0nt0s0-rocks-2026"})
	var v *password.Violation
	if !errors.Is(err, directory.ErrInvalid) || !errors.As(err, &v) || v.Rule != password.RuleBannedTerm {
		t.Fatalf("password with a banned term after substitutions: %v", err)
	}
	u, err := svc.AddUser(ctx, tn, directory.NewUser{UserPrincipalName: "bob@contoso.test", DisplayName: "Bob", Password: "tangerine-kettle-42"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPassword(ctx, u, "WINTER-is-coming-77", false); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("SetPassword with a banned term: %v", err)
	}
	for _, bad := range [][]string{{"abc"}, {strings.Repeat("x", 17)}} {
		if err := svc.SetBannedPasswordTerms(ctx, tn, bad); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("SetBannedPasswordTerms(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestImportCSVMalformedQuoteIsAnError(t *testing.T) {
	svc, _, tn := newService(t)
	_, err := svc.ImportCSV(context.Background(), tn, strings.NewReader("userPrincipalName,displayName,password\nbad\"q@contoso.test,X,pw\n"))
	if !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("malformed CSV row: %v", err)
	}
}

// TestSetPasswordKeepsChangesMadeMeanwhile: an administrator disables the
// account while another's password reset is being written (here, from
// inside the reset's own change, so the two are sure to cross). The reset
// reads the account again and applies itself to it: both changes stand,
// where a write from the copy the reset started with would re-enable it.
func TestSetPasswordKeepsChangesMadeMeanwhile(t *testing.T) {
	svc, db, tn := newService(t)
	ctx := context.Background()
	u, err := svc.AddUser(ctx, tn, directory.NewUser{UserPrincipalName: "erin@contoso.test", DisplayName: "Erin",
		Password: "first-password-2026", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	crossed := false
	revoked := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	got, err := svc.SetPassword(ctx, u, "second-password-2026", true, func(cur *store.User) {
		cur.SignInSessionsValidFrom = revoked
		if !crossed {
			crossed = true
			if _, err := svc.SetEnabled(ctx, u, false); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.GetUser(ctx, tn.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccountEnabled || !stored.ForceChangePasswordNextSignIn || !stored.SignInSessionsValidFrom.Equal(revoked) ||
		stored.PasswordHash == u.PasswordHash || stored.PasswordHash != got.PasswordHash {
		t.Fatalf("after a reset crossed by a disable: enabled %v, force change %v, sessions from %v, new hash %v",
			stored.AccountEnabled, stored.ForceChangePasswordNextSignIn, stored.SignInSessionsValidFrom, stored.PasswordHash != u.PasswordHash)
	}
}
