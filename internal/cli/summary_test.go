package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestSignInsSummaryCommand: offline on the data directory, the log's last
// day is summarised exactly (failures apart from interruptions, codes, the
// failing addresses with the user names they tried), as JSON and as text;
// bad flags are usage errors; through a running server after login, the
// same summary grows by the wrong passwords the server answered.
func TestSignInsSummaryCommand(t *testing.T) {
	dir, in := initDir(t)
	db, err := app.OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	var rows []store.SignInRow
	for i, r := range []struct {
		upn, ip string
		code    int
	}{
		{"alice@contoso.test", "203.0.113.5", 50126}, {"bob@contoso.test", "203.0.113.5", 50126},
		{"alice@contoso.test", "203.0.113.5", 50053}, {"alice@contoso.test", "198.51.100.1", 50076},
		{"alice@contoso.test", "198.51.100.1", 0},
	} {
		id := fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
		rows = append(rows, store.SignInRow{ID: id, CreatedAt: at.Add(time.Duration(i) * time.Second), TenantID: in.TenantID,
			UserID: r.upn, UPN: r.upn, AppID: app.CLIClientID, IPAddress: r.ip, ErrorCode: r.code, CorrelationID: id, Body: []byte(`{}`)})
	}
	if err := db.AppendSignIns(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var sum signinlog.Summary
	runJSON(t, &sum, "signins", "summary", "--data", dir, "-o", "json")
	if sum.Total != 5 || sum.Failures != 3 || sum.Interrupted != 1 || sum.Interval != "PT1H" || len(sum.Intervals) < 24 ||
		len(sum.TopFailingAddresses) != 1 || sum.TopFailingAddresses[0].IPAddress != "203.0.113.5" ||
		sum.TopFailingAddresses[0].Accounts != 2 || sum.ErrorCodes[0].ErrorCode != 50126 || sum.ErrorCodes[0].Count != 2 {
		t.Fatalf("offline summary: %+v", sum)
	}
	out, _, err := runRoot(t, nil, "signins", "summary", "--data", dir, "--interval", "6h")
	if err != nil || !strings.Contains(out, "5 sign-ins, 3 failed, 1 interrupted") || !strings.Contains(out, "InvalidUserNameOrPassword") ||
		!strings.Contains(out, "203.0.113.5") {
		t.Fatalf("offline summary as text: %v\n%s", err, out)
	}
	mustFail(t, 2, []string{"--interval must be whole minutes or hours"}, "signins", "summary", "--data", dir, "--interval", "90s")
	mustFail(t, 2, []string{"at most 31 days"}, "signins", "summary", "--data", dir, "--since", "800h")

	server := startServe(t, dir)
	for range 2 {
		resp, err := http.PostForm(server+"/contoso.test/oauth2/v2.0/token", url.Values{"grant_type": {"password"},
			"client_id": {app.CLIClientID}, "username": {"carol@contoso.test"}, "password": {"wrong"}, "scope": {"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	t.Setenv("PORTCULLIS_DATA_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if _, _, err := runRoot(t, strings.NewReader(adminPassword+"\n"), "login", "--server", server, "--username", "admin@contoso.test"); err != nil {
		t.Fatalf("login: %v", err)
	}
	runJSON(t, &sum, "signins", "summary", "-o", "json")
	// The two wrong passwords and the login's own success are logged.
	if sum.Total != 8 || sum.Failures != 5 || sum.AsOf.IsZero() {
		t.Fatalf("online summary: total %d, failures %d", sum.Total, sum.Failures)
	}
}
