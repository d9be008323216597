package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/rbac"
)

// Tenant-wide directory settings through the API: the password policy's
// banned terms, signing keys and bulk user import.

// audits returns the audit records whose activityDisplayName is activity.
func (ts *testServer) audits(token, activity string) []map[string]any {
	ts.t.Helper()
	r := ts.api("GET", "/v1.0/auditLogs/directoryAudits?$filter="+
		url.QueryEscape("activityDisplayName eq '"+activity+"'"), token, "")
	if r.status != http.StatusOK {
		ts.t.Fatalf("audit list: %d %s", r.status, r.raw)
	}
	var out struct{ Value []map[string]any }
	if err := json.Unmarshal([]byte(r.raw), &out); err != nil {
		ts.t.Fatal(err)
	}
	return out.Value
}

// TestAdminPasswordPolicyBannedTerms: a Security Administrator replaces the
// banned terms under If-Match; of eight concurrent writers holding the same
// ETag exactly one wins; the terms apply to the next password at once; bad
// terms and readers are refused; the change is audited with what it added.
func TestAdminPasswordPolicyBannedTerms(t *testing.T) {
	ts := startServer(t, nil)
	_, secTok := ts.withRole("secadmin", rbac.SecurityAdministrator)
	_, readerTok := ts.withRole("secreader", rbac.SecurityReader)
	_, userAdminTok := ts.withRole("useradmin", rbac.UserAdministrator)

	read := ts.api("GET", "/v1.0/portcullis/passwordPolicy", readerTok, "")
	etag := read.header.Get("ETag")
	if read.status != http.StatusOK || etag == "" || read.body["minimumLength"] != float64(8) ||
		read.body["@odata.etag"] != etag || len(read.body["bannedPasswordTerms"].([]any)) != 0 {
		t.Fatalf("read: %d %q %s", read.status, etag, read.raw)
	}
	if r := ts.api("PATCH", "/v1.0/portcullis/passwordPolicy", readerTok, `{"bannedPasswordTerms":["contoso"]}`); r.status != http.StatusForbidden {
		t.Fatalf("a Security Reader changing the terms: %d %s", r.status, r.raw)
	}
	const writers = 8
	bodies := make([]string, writers)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"bannedPasswordTerms":["contoso","writer%d"]}`, i)
	}
	won, lost := 0, 0
	for _, s := range ts.patchAll("/v1.0/portcullis/passwordPolicy", secTok, etag, bodies...) {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
			lost++
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if won != 1 || lost != writers-1 {
		t.Fatalf("%d replacements applied and %d refused, want 1 and %d", won, lost, writers-1)
	}
	after := ts.api("GET", "/v1.0/portcullis/passwordPolicy", readerTok, "")
	if terms := after.body["bannedPasswordTerms"].([]any); len(terms) != 2 || terms[0] != "contoso" || after.header.Get("ETag") == etag {
		t.Fatalf("after the race: %s (etag %s)", after.raw, after.header.Get("ETag"))
	}

	// The terms apply to the next password chosen.
	create := ts.api("POST", "/v1.0/users", userAdminTok, `{"accountEnabled":true,"displayName":"Nina",
		"userPrincipalName":"nina@contoso.test","passwordProfile":{"password":"C0nt0s0-Spring-Tulip-9"}}`)
	if create.status != http.StatusBadRequest || !strings.Contains(create.raw, "organisation does not allow") {
		t.Fatalf("a password with a banned term: %d %s", create.status, create.raw)
	}
	for _, bad := range []string{`{"bannedPasswordTerms":["abc"]}`, `{"bannedPasswordTerms":["contoso"],"minimumLength":4}`, `{}`} {
		if r := ts.api("PATCH", "/v1.0/portcullis/passwordPolicy", secTok, bad); r.status != http.StatusBadRequest ||
			graphCode(r) != "Request_BadRequest" {
			t.Errorf("PATCH %s: %d %s", bad, r.status, r.raw)
		}
	}
	recs := ts.audits(readerTok, "Update banned password terms")
	if len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["targetResources"]), "contoso, writer") {
		t.Fatalf("audit records of the change: %v", recs)
	}
}

// jwtKid reads a JWT's header kid and alg without verifying it.
func jwtKid(t *testing.T, token string) (kid, alg string) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid, Alg string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid, h.Alg
}

// TestAdminSigningKeys: readers see the keys without private material;
// only a Global Administrator rotates them; tokens issued right after carry
// the new key, and tokens signed before keep working while the old key is
// published.
func TestAdminSigningKeys(t *testing.T) {
	ts := startServer(t, nil)
	_, gaTok := ts.withRole("ga", rbac.GlobalAdministrator)
	_, secTok := ts.withRole("secadmin", rbac.SecurityAdministrator)
	list := func() []adminapi.SigningKey {
		r := ts.api("GET", "/v1.0/portcullis/signingKeys", secTok, "")
		var out struct{ Value []adminapi.SigningKey }
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &out) != nil {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		for _, private := range []string{`"d"`, `"p"`, "PRIVATE", "privateKey"} {
			if strings.Contains(r.raw, private) {
				t.Fatalf("the key list shows %s: %s", private, r.raw)
			}
		}
		return out.Value
	}
	before := list()
	if len(before) != 2 || before[0].Status != "active" || before[1].Status != "active" {
		t.Fatalf("keys at start: %+v", before)
	}
	if r := ts.api("POST", "/v1.0/portcullis/signingKeys/rotate", secTok, ""); r.status != http.StatusForbidden {
		t.Fatalf("a Security Administrator rotating keys: %d %s", r.status, r.raw)
	}
	rotated := ts.api("POST", "/v1.0/portcullis/signingKeys/rotate", gaTok, "")
	var fresh struct{ Value []adminapi.SigningKey }
	if rotated.status != http.StatusOK || json.Unmarshal([]byte(rotated.raw), &fresh) != nil || len(fresh.Value) != 2 {
		t.Fatalf("rotate: %d %s", rotated.status, rotated.raw)
	}
	newKid := map[string]string{}
	for _, k := range fresh.Value {
		newKid[k.Algorithm] = k.KeyID
	}
	after := list()
	if len(after) != 4 {
		t.Fatalf("keys after rotation: %+v", after)
	}
	for _, k := range after {
		if k.KeyID != newKid[k.Algorithm] && (k.Status != "retired, published" || k.PublishedUntil == "") {
			t.Errorf("old key after rotation: %+v", k)
		}
	}
	// Signed with the new ES256 key at once, not after the cache expires.
	if kid, alg := jwtKid(t, ts.accessToken("secadmin@contoso.test")); alg != "ES256" || kid != newKid["ES256"] {
		t.Fatalf("token after rotation signed by %s %s, want ES256 %s", alg, kid, newKid["ES256"])
	}
	if r := ts.api("GET", "/v1.0/me", gaTok, ""); r.status != http.StatusOK {
		t.Fatalf("a token signed before the rotation: %d %s", r.status, r.raw)
	}
	if recs := ts.audits(gaTok, "Rotate signing key"); len(recs) != 2 {
		t.Fatalf("audit records of the rotation: %d, want one per key", len(recs))
	}
}

// importCSV posts body as text/csv (contentType overrides) to the import.
func (ts *testServer) importCSV(token, contentType, body string) response {
	ts.t.Helper()
	req, _ := http.NewRequest("POST", ts.base+"/v1.0/portcullis/users/import", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	return ts.do(req)
}

// TestAdminImportUsers: a User Administrator imports users from CSV through
// the API: all or none, every bad row reported in Graph's error details,
// names already in the directory reported by line, one audit record per
// user tied to the file's SHA-256, and the imported users can sign in.
func TestAdminImportUsers(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("useradmin", rbac.UserAdministrator)
	_, helpdeskTok := ts.withRole("helpdesk", rbac.HelpdeskAdministrator)
	const header = "userPrincipalName,displayName,password\n"
	good := header + "ann@contoso.test,Ann Lee,Quiet-Harbour-Lamp-81\nben@contoso.test,Ben Ode,Amber-Orchard-Kite-27\n"

	if r := ts.importCSV(helpdeskTok, "text/csv", good); r.status != http.StatusForbidden {
		t.Fatalf("a Helpdesk Administrator importing: %d %s", r.status, r.raw)
	}
	if r := ts.importCSV(tok, "application/json", good); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("import as JSON: %d %s", r.status, r.raw)
	}
	bad := ts.importCSV(tok, "text/csv", header+"x@fabrikam.test,X,Quiet-Harbour-Lamp-81\nann@contoso.test,Ann,Quiet-Harbour-Lamp-81\ny,Y,Quiet-Harbour-Lamp-81\n")
	details, _ := bad.body["error"].(map[string]any)["details"].([]any)
	if bad.status != http.StatusBadRequest || len(details) != 2 || !strings.Contains(bad.raw, `"target":"line 2"`) ||
		!strings.Contains(bad.raw, `"target":"line 4"`) {
		t.Fatalf("two bad rows: %d %s", bad.status, bad.raw)
	}
	if r := ts.api("GET", "/v1.0/users/ann@contoso.test", tok, ""); r.status != http.StatusNotFound {
		t.Fatalf("the refused import created ann: %d", r.status)
	}

	ok := ts.importCSV(tok, "text/csv; charset=utf-8", good)
	if ok.status != http.StatusOK || ok.body["imported"] != float64(2) {
		t.Fatalf("import: %d %s", ok.status, ok.raw)
	}
	if r := ts.token(passwordForm("ben@contoso.test", "Amber-Orchard-Kite-27")); r.status != http.StatusOK {
		t.Fatalf("an imported user signing in: %d %s", r.status, r.raw)
	}
	again := ts.importCSV(tok, "text/csv", header+"cy@contoso.test,Cy,Quiet-Harbour-Lamp-81\nBen@Contoso.test,Ben,Quiet-Harbour-Lamp-81\n")
	if again.status != http.StatusBadRequest || !strings.Contains(again.raw, "already belongs to a user") ||
		!strings.Contains(again.raw, `"target":"line 3"`) {
		t.Fatalf("importing an existing user: %d %s", again.status, again.raw)
	}
	recs := ts.audits(tok, "Add user")
	if len(recs) != 2 || recs[0]["correlationId"] != recs[1]["correlationId"] ||
		!strings.Contains(fmt.Sprint(recs[0]["additionalDetails"]), "fileSha256") {
		t.Fatalf("audit records of the import: %v", recs)
	}
	huge := header + "z@contoso.test," + strings.Repeat("z", adminapi.MaxImportBytes) + ",x\n"
	if r := ts.importCSV(tok, "text/csv", huge); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a CSV over the limit: %d %.300s", r.status, r.raw)
	}
}

// patchAll sends the bodies concurrently with ifMatch ("" = none) and
// returns their statuses.
func (ts *testServer) patchAll(path, token, ifMatch string, bodies ...string) []int {
	statuses := make(chan int, len(bodies))
	for _, body := range bodies {
		go func() {
			req, _ := http.NewRequest("PATCH", ts.base+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			if ifMatch != "" {
				req.Header.Set("If-Match", ifMatch)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	out := make([]int, 0, len(bodies))
	for range bodies {
		out = append(out, <-statuses)
	}
	return out
}

// TestAdminLockoutPolicyIfMatch: concurrent changes of different fields
// without If-Match all land (the merge happens inside one transaction);
// of several writers holding the same ETag exactly one wins.
func TestAdminLockoutPolicyIfMatch(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("secadmin", rbac.SecurityAdministrator)
	fields := []string{`{"lockoutThreshold":7}`, `{"lockoutDurationInSeconds":120}`, `{"familiarNetworkDays":30}`,
		`{"deviceCookieLockoutThreshold":4}`}
	for _, s := range ts.patchAll("/v1.0/portcullis/lockoutPolicy", tok, "", fields...) {
		if s != http.StatusOK {
			t.Fatalf("concurrent field changes: status %d", s)
		}
	}
	read := ts.api("GET", "/v1.0/portcullis/lockoutPolicy", tok, "")
	b := read.body
	if b["lockoutThreshold"] != float64(7) || b["lockoutDurationInSeconds"] != float64(120) || b["familiarNetworkDays"] != float64(30) ||
		b["deviceCookieLockoutThreshold"] != float64(4) || b["isTenantOverride"] != true {
		t.Fatalf("a concurrent change was lost: %s", read.raw)
	}
	etag := read.header.Get("ETag")
	won := 0
	for _, s := range ts.patchAll("/v1.0/portcullis/lockoutPolicy", tok, etag, `{"lockoutThreshold":3}`, `{"lockoutThreshold":4}`,
		`{"lockoutThreshold":5}`, `{"lockoutThreshold":6}`) {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers with the same ETag won, want 1", won)
	}
}

// TestListUsersByPrefix: startswith(userPrincipalName,'...') lists the
// users whose sign-in name starts with the prefix (case-insensitively, the
// prefix itself included), in name order, paged, and nobody else.
func TestListUsersByPrefix(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("reader", rbac.GlobalReader)
	for _, name := range []string{"sam", "sam.b", "samantha", "sammy", "saul"} {
		ts.addUser(name+"@contoso.test", name, alicePassword, true)
	}
	list := func(query string) (names []string, next string) {
		t.Helper()
		r := ts.api("GET", "/v1.0/users?"+query, tok, "")
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", query, r.status, r.raw)
		}
		for _, v := range r.body["value"].([]any) {
			names = append(names, v.(map[string]any)["userPrincipalName"].(string))
		}
		next, _ = r.body["@odata.nextLink"].(string)
		return names, next
	}
	first, next := list(url.Values{"$filter": {"startswith(userPrincipalName,'SAM')"}, "$top": {"2"}}.Encode())
	if strings.Join(first, ",") != "sam.b@contoso.test,sam@contoso.test" || next == "" {
		t.Fatalf("first page: %v (next %q)", first, next)
	}
	u, _ := url.Parse(next)
	rest, last := list(u.RawQuery)
	if strings.Join(rest, ",") != "samantha@contoso.test,sammy@contoso.test" || last != "" {
		t.Fatalf("second page: %v (next %q)", rest, last)
	}
	exact, _ := list(url.Values{"$filter": {"startswith(userPrincipalName,'saul@contoso.test')"}}.Encode())
	if strings.Join(exact, ",") != "saul@contoso.test" {
		t.Fatalf("a whole name as the prefix: %v", exact)
	}
}
