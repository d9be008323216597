package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
)

// TestServeTLSSelfSigned: --tls-self-signed serves HTTPS with a certificate
// for localhost kept in the data directory (key 0600), the issuer is https,
// and responses carry HSTS.
func TestServeTLSSelfSigned(t *testing.T) {
	cfg := fastConfig(t)
	cfg.TLS.SelfSigned = true
	srv, err := app.Start(context.Background(), cfg, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	if !strings.HasPrefix(srv.BaseURL(), "https://127.0.0.1:") {
		t.Fatalf("base URL %s", srv.BaseURL())
	}
	if st, err := os.Stat(filepath.Join(cfg.DataDir, "dev-tls-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("development key: %v %v", st, err)
	}
	pemCert, err := os.ReadFile(filepath.Join(cfg.DataDir, "dev-tls-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(srv.BaseURL() + "/common/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("HTTPS request with the development certificate trusted: %v", err)
	}
	defer resp.Body.Close()
	var disco struct {
		AuthorizationEndpoint string `json:"authorization_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disco); err != nil || !strings.HasPrefix(disco.AuthorizationEndpoint, "https://") {
		t.Fatalf("discovery over TLS: %+v %v", disco, err)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS header over TLS")
	}
	if _, err := http.Get(srv.BaseURL() + "/healthz"); err == nil {
		t.Fatal("an untrusting client accepted the self-signed certificate")
	}
}

// TestMetricsOnlyForOperators: /metrics answers the addresses in
// metrics_allow (loopback by default) and is a 404 for anyone else, also
// through a trusted proxy.
func TestMetricsOnlyForOperators(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	get := func(from string) int {
		req, _ := http.NewRequest("GET", ts.base+"/metrics", nil)
		if from != "" {
			req.Header.Set("X-Forwarded-For", from)
		}
		return ts.do(req).status
	}
	if s := get(""); s != http.StatusOK {
		t.Fatalf("/metrics from loopback: %d", s)
	}
	if s := get("203.0.113.5"); s != http.StatusNotFound {
		t.Fatalf("/metrics from the internet through the proxy: %d", s)
	}
}
