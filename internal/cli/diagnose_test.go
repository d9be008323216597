package cli

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/diagnose"
)

// TestDiagnoseCommand: offline on the data directory, a locked account is
// diagnosed as locked; through a running server, the same with its sign-in
// records, and `signins show` of a failed record carries the diagnosis.
func TestDiagnoseCommand(t *testing.T) {
	dir, in := initDir(t)
	addAlice(t, dir)
	failSignIns(t, dir, in.TenantID, "alice@contoso.test", 10)
	var rep diagnose.Report
	runJSON(t, &rep, "diagnose", "--user", "alice@contoso.test", "--data", dir, "-o", "json")
	if rep.Cause != diagnose.CauseLocked || !rep.InEffectNow || len(rep.AdminCanDo) == 0 ||
		!strings.Contains(rep.AdminCanDo[0], "portcullis users unlock alice@contoso.test") {
		t.Fatalf("offline diagnosis: %+v", rep)
	}
	out, _, err := runRoot(t, nil, "diagnose", "--user", "alice@contoso.test", "--data", dir, "-o", "text")
	if err != nil || !strings.Contains(out, "Cause: accountLocked (IN EFFECT NOW)") {
		t.Fatalf("text diagnosis: %v\n%s", err, out)
	}
	mustFail(t, 2, []string{"name a user"}, "diagnose", "--data", dir)

	server := startServe(t, dir)
	for range 2 {
		resp, err := http.PostForm(server+"/contoso.test/oauth2/v2.0/token", url.Values{"grant_type": {"password"},
			"client_id": {app.CLIClientID}, "username": {"alice@contoso.test"}, "password": {"still wrong"},
			"scope": {"openid"}})
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
	runJSON(t, &rep, "diagnose", "--user", "alice@contoso.test", "-o", "json")
	if rep.Cause != diagnose.CauseLocked || rep.Failures.Total != 2 {
		t.Fatalf("online diagnosis: %s %+v", rep.Cause, rep.Failures)
	}
	listed, _, err := runRoot(t, nil, "signins", "list", "--user", "alice@contoso.test", "-o", "json")
	var list struct {
		Value []struct{ ID string }
	}
	if err != nil || json.Unmarshal([]byte(listed), &list) != nil || len(list.Value) == 0 {
		t.Fatalf("signins list: %v %s", err, listed)
	}
	out, _, err = runRoot(t, nil, "signins", "show", list.Value[0].ID)
	if err != nil || !strings.Contains(out, "Diagnose") || !strings.Contains(out, "Cause: accountLocked") {
		t.Fatalf("signins show of a failed record: %v\n%s", err, out)
	}
}
