package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/rbac"
)

// Admin API resources beyond users and roles: IP protection, named
// locations, feeds, applications and the sign-in log.
// TestAdminIPBlocksAndPolicy: a Security Operator blocks an address through
// the API and sign-ins from it are refused at once with AADSTS50053; a
// Security Reader sees the block but cannot lift it; the operator lifts it.
// A Security Administrator's policy change applies to the next attempt.
func TestAdminIPBlocksAndPolicy(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	_, opTok := ts.withRole("secop", rbac.SecurityOperator)
	_, readerTok := ts.withRole("secreader", rbac.SecurityReader)
	_, adminTok := ts.withRole("secadmin", rbac.SecurityAdministrator)
	from := []string{"X-Forwarded-For", "203.0.113.45"}

	created := ts.api("POST", "/v1.0/portcullis/ipBlocks", opTok, `{"prefix":"203.0.113.0/24","reason":"spray from this range"}`)
	id, _ := created.body["id"].(string)
	if created.status != http.StatusCreated || id == "" {
		t.Fatalf("block: %d %s", created.status, created.raw)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), from...); r.errorCode() != 50053 {
		t.Fatalf("sign-in from the blocked range: %d %s", r.status, r.raw)
	}
	list := ts.api("GET", "/v1.0/portcullis/ipBlocks?$filter="+url.QueryEscape("active eq true"), readerTok, "")
	if values, _ := list.body["value"].([]any); list.status != http.StatusOK || len(values) != 1 {
		t.Fatalf("reader's list: %d %s", list.status, list.raw)
	}
	if r := ts.api("DELETE", "/v1.0/portcullis/ipBlocks/"+id, readerTok, ""); r.status != http.StatusForbidden {
		t.Fatalf("reader lifting a block: %d %s", r.status, r.raw)
	}
	if r := ts.api("DELETE", "/v1.0/portcullis/ipBlocks/"+id+"?reason=false+positive", opTok, ""); r.status != http.StatusNoContent {
		t.Fatalf("operator lifting the block: %d %s", r.status, r.raw)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), from...); r.status != http.StatusOK {
		t.Fatalf("sign-in after the block was lifted: %d %s", r.status, r.raw)
	}

	bad := ts.api("PATCH", "/v1.0/portcullis/lockoutPolicy", adminTok, `{"lockoutThreshold":0,"familiarNetworkDays":400}`)
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.raw, "threshold") || !strings.Contains(bad.raw, "familiar_network_days") {
		t.Fatalf("invalid policy: %d %s", bad.status, bad.raw)
	}
	if r := ts.api("PATCH", "/v1.0/portcullis/lockoutPolicy", readerTok, `{"lockoutThreshold":1}`); r.status != http.StatusForbidden {
		t.Fatalf("reader changing the policy: %d %s", r.status, r.raw)
	}
	if r := ts.api("PATCH", "/v1.0/portcullis/lockoutPolicy", adminTok, `{"lockoutThreshold":1}`); r.status != http.StatusOK ||
		r.body["lockoutThreshold"] != float64(1) {
		t.Fatalf("policy change: %d %s", r.status, r.raw)
	}
	victim := ts.addUser("victim@contoso.test", "Victim", adminTestPassword, true)
	ts.token(passwordForm(victim.UserPrincipalName, "wrong-1"), "X-Forwarded-For", "198.51.100.9")
	if r := ts.token(passwordForm(victim.UserPrincipalName, "wrong-2"), "X-Forwarded-For", "198.51.100.9"); r.errorCode() != 50053 {
		t.Fatalf("threshold 1 not applied at once: %d %s", r.status, r.raw)
	}
}

// TestAdminApplications: a Cloud Application Administrator reads app
// registrations in Graph's shape; secrets never appear, only their hints.
func TestAdminApplications(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("cloudappadmin", rbac.CloudApplicationAdministrator)
	list := ts.api("GET", "/v1.0/applications", tok, "")
	if list.status != http.StatusOK || !strings.Contains(list.raw, `"displayName":"Payroll"`) || strings.Contains(list.raw, ts.secret) {
		t.Fatalf("applications: %d %s", list.status, list.raw)
	}
	one := ts.api("GET", "/v1.0/applications/"+ts.conf.ClientID, tok, "")
	creds, _ := one.body["passwordCredentials"].([]any)
	if one.status != http.StatusOK || one.body["appId"] != ts.conf.ClientID || len(creds) != 1 {
		t.Fatalf("application: %d %s", one.status, one.raw)
	}
	if hint := creds[0].(map[string]any)["hint"].(string); hint == "" || !strings.HasPrefix(ts.secret, hint) {
		t.Fatalf("secret hint %q does not start the secret", hint)
	}
	if r := ts.api("GET", "/v1.0/applications/"+uuid.NewString(), tok, ""); r.status != http.StatusNotFound {
		t.Fatalf("unknown application: %d %s", r.status, r.raw)
	}
	// Register a confidential app: its secret comes back once and works.
	created := ts.api("POST", "/v1.0/applications", tok, `{"displayName":"Reporting","signInAudience":"AzureADMyOrg",`+
		`"web":{"redirectUris":["https://reports.contoso.test/cb"]}}`)
	creds, _ = created.body["passwordCredentials"].([]any)
	if created.status != http.StatusCreated || len(creds) != 1 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	secret, _ := creds[0].(map[string]any)["secretText"].(string)
	appID, _ := created.body["appId"].(string)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	if r := ts.token(form); r.status != http.StatusOK {
		t.Fatalf("the new app's secret does not work: %d %s", r.status, r.raw)
	}
	again := ts.api("GET", "/v1.0/applications/"+appID, tok, "")
	if strings.Contains(again.raw, secret) {
		t.Fatal("the secret is shown again after creation")
	}
	for name, body := range map[string]string{
		"no name":       `{"web":{"redirectUris":["https://x.contoso.test/cb"]}}`,
		"both kinds":    `{"displayName":"X","publicClient":{"redirectUris":["http://localhost"]},"web":{"redirectUris":["https://x.contoso.test/cb"]}}`,
		"multi-tenant":  `{"displayName":"X","signInAudience":"AzureADMultipleOrgs"}`,
		"bad redirect":  `{"displayName":"X","web":{"redirectUris":["http://insecure.contoso.test/cb"]}}`,
		"unknown field": `{"displayName":"X","requiredResourceAccess":[]}`,
	} {
		if r := ts.api("POST", "/v1.0/applications", tok, body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
}

// TestAdminNamedLocations: a Security Administrator adds a trusted range in
// Graph's shape and the very next sign-in from it is matched; bad shapes and
// duplicate names are refused; a Security Operator may not whitelist.
func TestAdminNamedLocations(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	_, adminTok := ts.withRole("secadmin", rbac.SecurityAdministrator)
	_, opTok := ts.withRole("secop", rbac.SecurityOperator)
	const office = `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Head office","isTrusted":true,` +
		`"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"}]}`
	if r := ts.api("POST", "/v1.0/identity/conditionalAccess/namedLocations", opTok, office); r.status != http.StatusForbidden {
		t.Fatalf("Security Operator adding a trusted location: %d %s", r.status, r.raw)
	}
	created := ts.api("POST", "/v1.0/identity/conditionalAccess/namedLocations", adminTok, office)
	id, _ := created.body["id"].(string)
	if created.status != http.StatusCreated || id == "" || created.body["isTrusted"] != true {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "203.0.113.5", "client-request-id", corr(7100))
	if r.status != http.StatusOK {
		t.Fatalf("sign-in from the office: %d %s", r.status, r.raw)
	}
	matched := false
	for _, m := range ts.signInByCorrelation(corr(7100)).Protection.IPMatches {
		matched = matched || m.Name == "Head office"
	}
	if !matched {
		t.Fatalf("the new location did not match the next sign-in: %+v", ts.signInByCorrelation(corr(7100)).Protection)
	}
	for name, c := range map[string]struct {
		body   string
		status int
	}{
		"duplicate":    {office, http.StatusConflict},
		"bad country":  {`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"X","countriesAndRegions":["Narnia"]}`, http.StatusBadRequest},
		"mixed":        {`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"Y","countriesAndRegions":["NZ"],"isTrusted":true}`, http.StatusBadRequest},
		"unknown type": {`{"@odata.type":"#microsoft.graph.somethingElse","displayName":"Z"}`, http.StatusBadRequest},
		"bad range":    {`{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"W","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"300.1.2.0/24"}]}`, http.StatusBadRequest},
	} {
		if r := ts.api("POST", "/v1.0/identity/conditionalAccess/namedLocations", adminTok, c.body); r.status != c.status {
			t.Errorf("%s: %d %s, want %d", name, r.status, r.raw, c.status)
		}
	}
	if r := ts.api("DELETE", "/v1.0/identity/conditionalAccess/namedLocations/"+id, adminTok, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := ts.api("DELETE", "/v1.0/identity/conditionalAccess/namedLocations/"+id, adminTok, ""); r.status != http.StatusNotFound {
		t.Fatalf("delete twice: %d %s", r.status, r.raw)
	}
}

// TestAdminFeeds: a Security Operator reads feed statuses and refreshes a
// feed after its file changed; the new list applies to the next sign-in.
func TestAdminFeeds(t *testing.T) {
	list := filepath.Join(t.TempDir(), "drop.txt")
	if err := os.WriteFile(list, []byte("# DROP\n192.0.2.0/24 ; SBL1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Feeds = []config.Feed{{Name: "drop", Path: list, Category: "malicious", Action: "block", Refresh: time.Hour}}
	})
	_, tok := ts.withRole("secop", rbac.SecurityOperator)
	prefixes := func(r response) float64 {
		values, _ := r.body["value"].([]any)
		if len(values) != 1 {
			t.Fatalf("feeds: %d %s", r.status, r.raw)
		}
		n, _ := values[0].(map[string]any)["prefixes"].(float64)
		return n
	}
	// The first load runs in the background at start; a refresh is synchronous.
	if r := ts.api("POST", "/v1.0/portcullis/feeds/refresh", tok, ""); prefixes(r) != 1 {
		t.Fatalf("first refresh: %s", r.raw)
	}
	if r := ts.api("GET", "/v1.0/portcullis/feeds", tok, ""); prefixes(r) != 1 {
		t.Fatalf("feeds: %s", r.raw)
	}
	if err := os.WriteFile(list, []byte("192.0.2.0/24\n198.51.100.0/24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := ts.api("POST", "/v1.0/portcullis/feeds/refresh?name=drop", tok, ""); prefixes(r) != 2 {
		t.Fatalf("after refresh: %s", r.raw)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "198.51.100.20"); r.errorCode() != 50053 {
		t.Fatalf("sign-in from the newly listed range: %d %s", r.status, r.raw)
	}
	if r := ts.api("POST", "/v1.0/portcullis/feeds/refresh?name=nope", tok, ""); r.status != http.StatusNotFound {
		t.Fatalf("unknown feed: %d %s", r.status, r.raw)
	}
}

// TestAdminSignInsSeedPath is the seed's troubleshooting path through the
// API: as a Cloud Application Administrator, filter the sign-in log by the
// user and error code 50053 and read the failure reason; page through it;
// bad queries get Graph's error with the offending position.
func TestAdminSignInsSeedPath(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Lockout.Threshold = 2 })
	_, tok := ts.withRole("cloudappadmin", rbac.CloudApplicationAdministrator)
	victim := ts.addUser("victim@contoso.test", "Victim", adminTestPassword, true)
	for i := range 5 {
		ts.token(passwordForm(victim.UserPrincipalName, fmt.Sprint("wrong-", i)))
	}
	filter := url.QueryEscape("userPrincipalName eq 'victim@contoso.test' and status/errorCode eq 50053")
	r := ts.api("GET", "/v1.0/auditLogs/signIns?$count=true&$filter="+filter, tok, "")
	values, _ := r.body["value"].([]any)
	if r.status != http.StatusOK || len(values) != 3 || r.body["@odata.count"] != float64(3) {
		t.Fatalf("locked sign-ins of the victim: %d %s", r.status, r.raw)
	}
	status := values[0].(map[string]any)["status"].(map[string]any)
	if status["errorCode"] != float64(50053) || !strings.Contains(status["failureReason"].(string), "locked") {
		t.Fatalf("failure reason: %v", status)
	}
	// Paging: two at a time, newest first, nothing twice.
	seen := map[string]bool{}
	next := "/v1.0/auditLogs/signIns?$top=2&$filter=" + url.QueryEscape("userPrincipalName eq 'victim@contoso.test'")
	for pages := 0; next != ""; pages++ {
		page := ts.api("GET", next, tok, "")
		vals, _ := page.body["value"].([]any)
		for _, v := range vals {
			id := v.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("record %s on two pages", id)
			}
			seen[id] = true
		}
		next = ""
		if link, _ := page.body["@odata.nextLink"].(string); link != "" {
			next = strings.TrimPrefix(link, ts.base)
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged %d records, want 5", len(seen))
	}
	sel := ts.api("GET", "/v1.0/auditLogs/signIns?$top=1&$select=id,status", tok, "")
	one := sel.body["value"].([]any)[0].(map[string]any)
	if len(one) != 2 || one["id"] == nil || one["status"] == nil {
		t.Fatalf("$select: %s", sel.raw)
	}
	id := one["id"].(string)
	if r := ts.api("GET", "/v1.0/auditLogs/signIns/"+id, tok, ""); r.status != http.StatusOK || r.body["id"] != id {
		t.Fatalf("one record: %d %s", r.status, r.raw)
	}
	bad := ts.api("GET", "/v1.0/auditLogs/signIns?$filter="+url.QueryEscape("status/errorCode eq 'locked'"), tok, "")
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.raw, "position 21") || graphCode(bad) != "Request_BadRequest" {
		t.Fatalf("bad filter: %d %s", bad.status, bad.raw)
	}
	if r := ts.api("GET", "/v1.0/auditLogs/signIns?$orderby=userPrincipalName", tok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("bad orderby: %d %s", r.status, r.raw)
	}
}

// TestAdminSignInExport: every matching record, streamed as CSV or as a JSON
// array, honouring the filter; pages of the store are joined seamlessly.
func TestAdminSignInExport(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("reports", rbac.ReportsReader)
	for i := range 7 {
		ts.token(passwordForm("alice@contoso.test", fmt.Sprint("wrong-", i)))
	}
	filter := url.QueryEscape("userPrincipalName eq 'alice@contoso.test'")
	csvResp := ts.api("GET", "/v1.0/portcullis/signIns/export?format=csv&$filter="+filter, tok, "")
	lines := strings.Split(strings.TrimSpace(csvResp.raw), "\n")
	if csvResp.status != http.StatusOK || len(lines) != 8 || !strings.HasPrefix(lines[0], "createdDateTime,userPrincipalName") ||
		!strings.Contains(csvResp.header.Get("Content-Disposition"), ".csv") {
		t.Fatalf("CSV export: %d, %d lines\n%s", csvResp.status, len(lines), csvResp.raw)
	}
	jsonResp := ts.api("GET", "/v1.0/portcullis/signIns/export?format=json&$filter="+filter, tok, "")
	var all []map[string]any
	if err := json.Unmarshal([]byte(jsonResp.raw), &all); err != nil || len(all) != 7 {
		t.Fatalf("JSON export: %v, %d records\n%s", err, len(all), jsonResp.raw)
	}
	none := ts.api("GET", "/v1.0/portcullis/signIns/export?format=json&$filter="+url.QueryEscape("status/errorCode eq 12345"), tok, "")
	if strings.TrimSpace(none.raw) != "[]" {
		t.Fatalf("empty JSON export: %q", none.raw)
	}
	if r := ts.api("GET", "/v1.0/portcullis/signIns/export?format=xml", tok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("unknown format: %d", r.status)
	}
}

// TestAdminApplicationChanges: a Cloud Application Administrator renames an
// app, rotates its secret (the new one works at once, the removed one stops
// at once) and deletes it; the built-in CLI app cannot be deleted; every
// change is in the audit log.
func TestAdminApplicationChanges(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("cloudappadmin", rbac.CloudApplicationAdministrator)
	path := "/v1.0/applications/" + ts.conf.ClientID
	if r := ts.api("PATCH", path, tok, `{"displayName":"Payroll v2","web":{"redirectUris":["https://payroll.contoso.test/v2"]}}`); r.status != http.StatusNoContent {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	if r := ts.api("GET", path, tok, ""); r.body["displayName"] != "Payroll v2" || !strings.Contains(r.raw, "/v2") {
		t.Fatalf("after patch: %s", r.raw)
	}
	for name, body := range map[string]string{
		"public URIs on a web app": `{"publicClient":{"redirectUris":["http://localhost"]}}`,
		"empty name":               `{"displayName":" "}`,
		"unknown field":            `{"signInAudience":"AzureADMyOrg"}`,
	} {
		if r := ts.api("PATCH", path, tok, body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	clientCredentials := func(secret string) response {
		return ts.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {ts.conf.ClientID},
			"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	}
	if r := clientCredentials(ts.secret); r.status != http.StatusOK { // warms the token endpoint's app cache
		t.Fatalf("old secret before rotation: %d %s", r.status, r.raw)
	}
	end := time.Now().AddDate(1, 0, 0).UTC().Truncate(time.Second).Format(time.RFC3339)
	added := ts.api("POST", path+"/addPassword", tok, `{"passwordCredential":{"endDateTime":"`+end+`"}}`)
	newSecret, _ := added.body["secretText"].(string)
	if added.status != http.StatusOK || newSecret == "" || added.body["endDateTime"] != end {
		t.Fatalf("addPassword: %d %s", added.status, added.raw)
	}
	if r := clientCredentials(newSecret); r.status != http.StatusOK {
		t.Fatalf("new secret: %d %s", r.status, r.raw)
	}
	one := ts.api("GET", path, tok, "")
	creds, _ := one.body["passwordCredentials"].([]any)
	var oldKey string
	for _, c := range creds {
		if m := c.(map[string]any); m["keyId"] != added.body["keyId"] {
			oldKey, _ = m["keyId"].(string)
		}
	}
	if len(creds) != 2 || oldKey == "" || strings.Contains(one.raw, newSecret) {
		t.Fatalf("credentials after addPassword: %s", one.raw)
	}
	if r := ts.api("POST", path+"/removePassword", tok, `{"keyId":"`+oldKey+`"}`); r.status != http.StatusNoContent {
		t.Fatalf("removePassword: %d %s", r.status, r.raw)
	}
	if r := clientCredentials(ts.secret); r.status != http.StatusUnauthorized || r.errorCode() != 7000215 {
		t.Fatalf("removed secret still works: %d %s", r.status, r.raw)
	}
	if r := ts.api("POST", path+"/removePassword", tok, `{"keyId":"`+oldKey+`"}`); r.status != http.StatusNotFound {
		t.Fatalf("removing it twice: %d %s", r.status, r.raw)
	}
	for name, body := range map[string]string{
		"ending in the past":  `{"passwordCredential":{"endDateTime":"2001-01-01T00:00:00Z"}}`,
		"ending in 2099":      `{"passwordCredential":{"endDateTime":"2099-01-01T00:00:00Z"}}`,
		"with a display name": `{"passwordCredential":{"displayName":"ci"}}`,
	} {
		if r := ts.api("POST", path+"/addPassword", tok, body); r.status != http.StatusBadRequest {
			t.Errorf("secret %s: %d %s", name, r.status, r.raw)
		}
	}
	if r := ts.api("DELETE", "/v1.0/applications/"+app.CLIClientID, tok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("deleting the CLI app: %d %s", r.status, r.raw)
	}
	if r := ts.api("DELETE", path, tok, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := clientCredentials(newSecret); r.status == http.StatusOK {
		t.Fatalf("a deleted app still gets tokens: %s", r.raw)
	}
	if r := ts.api("GET", path, tok, ""); r.status != http.StatusNotFound {
		t.Fatalf("deleted app: %d %s", r.status, r.raw)
	}
	_, readerTok := ts.withRole("reader", rbac.GlobalReader)
	audits := ts.api("GET", "/v1.0/auditLogs/directoryAudits", readerTok, "")
	for _, activity := range []string{"Update application", "Certificates and secrets management", "Delete application"} {
		if !strings.Contains(audits.raw, activity) {
			t.Errorf("audit log lacks %q", activity)
		}
	}
	requireAuditPaging(t, ts, readerTok)
}

// requireAuditPaging walks the audit log two records at a time through
// @odata.nextLink, with a record appended midway, and requires exactly
// the records of one full read, in its order: none skipped, none twice,
// the new one not shifting the pages.
func requireAuditPaging(t *testing.T, ts *testServer, tok string) {
	t.Helper()
	type page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
		NextLink string `json:"@odata.nextLink"`
	}
	read := func(path string) page {
		r := ts.api("GET", path, tok, "")
		var p page
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &p) != nil {
			t.Fatalf("GET %s: %d %s", path, r.status, r.raw)
		}
		return p
	}
	all := read("/v1.0/auditLogs/directoryAudits?$top=1000")
	if len(all.Value) < 4 || all.NextLink != "" {
		t.Fatalf("one read of the whole log: %d records, next %q", len(all.Value), all.NextLink)
	}
	var paged []string
	next := "/v1.0/auditLogs/directoryAudits?$top=2"
	for pages := 0; next != ""; pages++ {
		p := read(strings.TrimPrefix(next, ts.base))
		if len(p.Value) == 0 || len(p.Value) > 2 || pages > len(all.Value) {
			t.Fatalf("page %d holds %d records", pages, len(p.Value))
		}
		for _, v := range p.Value {
			paged = append(paged, v.ID)
		}
		if pages == 0 { // a change made while paging is newer than every page
			if r := ts.api("DELETE", "/v1.0/portcullis/ipBlocks/none", tok, ""); r.status < 400 {
				t.Fatalf("a Global Reader deleted a block: %d", r.status)
			}
		}
		next = p.NextLink
	}
	if len(paged) != len(all.Value) {
		t.Fatalf("paging read %d records, one read %d", len(paged), len(all.Value))
	}
	for i, v := range all.Value {
		if paged[i] != v.ID {
			t.Fatalf("record %d: paged %s, read %s", i, paged[i], v.ID)
		}
	}
	if now := read("/v1.0/auditLogs/directoryAudits?$top=1000"); len(now.Value) != len(all.Value)+1 {
		t.Fatalf("the refusal made while paging was not audited: %d records, then %d", len(all.Value), len(now.Value))
	}
	if r := ts.api("GET", "/v1.0/auditLogs/directoryAudits?$skiptoken=not-a-token", tok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("a forged $skiptoken: %d", r.status)
	}
}
