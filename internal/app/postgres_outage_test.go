package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/testsvc"
)

// TestPostgresOutage stops the server's PostgreSQL mid-run. Sign-ins then
// fail cleanly (503, AADSTS90033, Retry-After) without being half done,
// readiness says why, and once the database is back sign-ins work again
// without a restart; the log holds exactly the attempts that were answered.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a PostgreSQL server of its own")
	}
	pg := testsvc.StartPrivatePostgres(t)
	ts := startServer(t, func(c *config.Config) {
		c.Storage = config.Storage{Type: "postgres", DSN: pg.DSN}
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	signIn := func(pw string) response {
		return ts.token(passwordForm("alice@contoso.test", pw), "X-Forwarded-For", "198.51.100.7")
	}
	if res := signIn(alicePassword); res.status != http.StatusOK {
		t.Fatalf("sign-in with the database up: %s", res.raw)
	}

	pg.Stop()
	for _, pw := range []string{alicePassword, "wrong-password"} {
		res := signIn(pw)
		if res.status != http.StatusServiceUnavailable || res.errorCode() != 90033 || res.header.Get("Retry-After") != "5" {
			t.Fatalf("sign-in with the database down: %d %s", res.status, res.raw)
		}
	}
	ready, err := http.Get(ts.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readiness with the database down: %d", ready.StatusCode)
	}

	pg.Start()
	if res := signIn(alicePassword); res.status != http.StatusOK {
		t.Fatalf("sign-in after the database came back: %d %s", res.status, res.raw)
	}
	where, err := odata.Parse("userId eq '"+ts.alice.ID+"'", store.SignInSchema)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ts.srv.Store().CountSignIns(context.Background(), ts.tenant.ID, where)
	if err != nil || n != 2 {
		t.Fatalf("the log holds %d of alice's sign-ins (%v), want the 2 answered ones", n, err)
	}
}
