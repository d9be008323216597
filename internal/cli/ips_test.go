package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/ipintel"
)

// ipCheckJSON mirrors `ips check -o json`.
type ipCheckJSON struct {
	IP            string          `json:"ip"`
	Verdict       string          `json:"verdict"`
	Blocked       bool            `json:"blocked"`
	AutomaticOnly bool            `json:"automaticOnly"`
	Trusted       bool            `json:"trusted"`
	Matches       []guard.IPMatch `json:"matches"`
	BlockRecords  []blockOut      `json:"blockRecords"`
	FeedErrors    []feedProblem   `json:"feedErrors"`
}

type blockList struct {
	Value []blockOut `json:"value"`
}

type feedList struct {
	Value []feedOut `json:"value"`
}

type locationList struct {
	Value []locationOut `json:"value"`
}

// ipDir initialises a data directory and writes a config file with one
// file feed listing 198.51.100.0/24 (plus a comment and a bad line). It
// returns the common flags: --config and --data.
func ipDir(t *testing.T) []string {
	t.Helper()
	dir, _ := initDir(t)
	list := writeFile(t, "drop.txt", "# test drop list\n198.51.100.0/24 ; SBL1\n203.0.113.9\nnot-an-address\n")
	cfg := writeFile(t, "portcullis.yaml", fmt.Sprintf(
		"feeds:\n  - name: test-drop\n    path: %s\n    category: malicious\n    action: block\n", list))
	return []string{"--config", cfg, "--data", dir}
}

func ipCheck(t *testing.T, common []string, ip string) ipCheckJSON {
	t.Helper()
	var v ipCheckJSON
	runJSON(t, &v, append([]string{"ips", "check", ip, "-o", "json"}, common...)...)
	return v
}

func TestIPsCheckBlockUnblock(t *testing.T) {
	common := ipDir(t)
	v := ipCheck(t, common, "198.51.100.7")
	want := guard.IPMatch{Kind: "feed", Name: "test-drop", Category: "malicious", Action: "block", Prefix: "198.51.100.0/24"}
	if !v.Blocked || v.Verdict != "blocked" || v.IP != "198.51.100.7" || len(v.Matches) != 1 || v.Matches[0] != want {
		t.Fatalf("check 198.51.100.7 = %+v", v)
	}
	if v = ipCheck(t, common, "192.0.2.1"); v.Blocked || v.Verdict != "allowed" || len(v.Matches) != 0 || v.Matches == nil {
		t.Fatalf("check 192.0.2.1 = %+v", v)
	}

	var b blockOut
	runJSON(t, &b, append([]string{"ips", "block", "192.0.2.0/24", "--reason", "x", "-o", "json"}, common...)...)
	if b.Prefix != "192.0.2.0/24" || b.Origin != "admin" || b.Reason != "x" || b.Status != "active" ||
		!strings.HasPrefix(b.CreatedBy, "cli:") || !b.ExpiresAt.IsZero() {
		t.Fatalf("block = %+v", b)
	}
	v = ipCheck(t, common, "192.0.2.1")
	if !v.Blocked || v.Verdict != "blocked" || len(v.Matches) != 1 || len(v.BlockRecords) != 1 {
		t.Fatalf("check after block = %+v", v)
	}
	if m := v.Matches[0]; m.Kind != "block" || m.Name != b.ID || m.Origin != "admin" || m.Reason != "x" {
		t.Errorf("block match = %+v", m)
	}
	stdout, _, err := runRoot(t, nil, append([]string{"ips", "check", "192.0.2.1"}, common...)...)
	if err != nil || !strings.Contains(stdout, "block record") || !strings.Contains(stdout, "expires never") {
		t.Errorf("check table: %v\n%s", err, stdout)
	}

	var list blockList
	runJSON(t, &list, append([]string{"ips", "list", "-o", "json"}, common...)...)
	if len(list.Value) != 1 || list.Value[0].ID != b.ID || list.Value[0].Status != "active" {
		t.Fatalf("ips list = %+v", list)
	}
	stdout, _, err = runRoot(t, nil, append([]string{"ips", "list"}, common...)...)
	if err != nil || !strings.Contains(stdout, "STATUS") || !strings.Contains(stdout, b.ID) {
		t.Errorf("ips list table: %v\n%s", err, stdout)
	}

	var un blockOut
	runJSON(t, &un, append([]string{"ips", "unblock", b.ID, "--reason", "false positive", "-o", "json"}, common...)...)
	if un.Status != "revoked" || un.RevokeReason != "false positive" {
		t.Errorf("unblock = %+v", un)
	}
	if v = ipCheck(t, common, "192.0.2.1"); v.Blocked || v.Verdict != "allowed" || len(v.Matches) != 0 {
		t.Fatalf("check after unblock = %+v", v)
	}
	runJSON(t, &list, append([]string{"ips", "list", "-o", "json"}, common...)...)
	if len(list.Value) != 0 {
		t.Errorf("active list after unblock = %+v", list)
	}
	runJSON(t, &list, append([]string{"ips", "list", "--all", "-o", "json"}, common...)...)
	if len(list.Value) != 1 || list.Value[0].Status != "revoked" || !strings.HasPrefix(list.Value[0].RevokedBy, "cli:") {
		t.Fatalf("ips list --all = %+v", list)
	}
}

func TestIPsBlockExpires(t *testing.T) {
	common := ipDir(t)
	var b blockOut
	runJSON(t, &b, append([]string{"ips", "block", "203.0.113.200", "--expires", "1h", "-o", "json"}, common...)...)
	if b.Prefix != "203.0.113.200/32" || b.ExpiresAt.IsZero() || b.Reason != "blocked with the portcullis CLI" {
		t.Fatalf("block = %+v", b)
	}
	if v := ipCheck(t, common, "203.0.113.200"); !v.Blocked || len(v.BlockRecords) != 1 || v.BlockRecords[0].ExpiresAt.IsZero() {
		t.Errorf("check = %+v", v)
	}
}

func TestLocationsTrustedWins(t *testing.T) {
	common := ipDir(t)
	var added locationOut
	runJSON(t, &added, append([]string{"locations", "add", "--name", "HQ", "--cidr", "198.51.100.0/24", "--trusted",
		"-o", "json"}, common...)...)
	if added.Name != "HQ" || added.Source != "tenant" || !added.Trusted || len(added.IPRanges) != 1 || added.ID == "" {
		t.Fatalf("locations add = %+v", added)
	}
	v := ipCheck(t, common, "198.51.100.7")
	if v.Blocked || !v.Trusted || v.Verdict != "allowed (trusted location)" {
		t.Fatalf("check from trusted location = %+v", v)
	}
	var feed, loc bool
	for _, m := range v.Matches {
		feed = feed || (m.Kind == "feed" && m.Name == "test-drop")
		loc = loc || (m.Kind == "location" && m.Name == "HQ" && m.Trusted)
	}
	if !feed || !loc {
		t.Errorf("matches = %+v, want the feed and HQ", v.Matches)
	}

	var list locationList
	runJSON(t, &list, append([]string{"locations", "list", "-o", "json"}, common...)...)
	if len(list.Value) != 1 || list.Value[0].Name != "HQ" || list.Value[0].Source != "tenant" {
		t.Fatalf("locations list = %+v", list)
	}
	mustFail(t, 1, []string{"already exists"}, append([]string{"locations", "add", "--name", "hq", "--cidr", "10.0.0.0/8"}, common...)...)

	stdout, _, err := runRoot(t, nil, append([]string{"locations", "remove", "HQ"}, common...)...)
	if err != nil || !strings.Contains(stdout, "Removed named location HQ") {
		t.Fatalf("locations remove: %v\n%s", err, stdout)
	}
	runJSON(t, &list, append([]string{"locations", "list", "-o", "json"}, common...)...)
	if len(list.Value) != 0 {
		t.Errorf("locations after remove = %+v", list)
	}
	if v = ipCheck(t, common, "198.51.100.7"); !v.Blocked {
		t.Errorf("check after removing HQ = %+v", v)
	}
	mustFail(t, 1, []string{"HQ", "not found"}, append([]string{"locations", "remove", "HQ"}, common...)...)
}

func TestLocationsConfigured(t *testing.T) {
	dir, _ := initDir(t)
	cfg := writeFile(t, "portcullis.yaml", "locations:\n  - name: Office\n    cidrs: [10.0.0.0/8]\n    trusted: true\n")
	common := []string{"--config", cfg, "--data", dir}
	var list locationList
	runJSON(t, &list, append([]string{"locations", "list", "-o", "json"}, common...)...)
	if len(list.Value) != 1 || list.Value[0].Name != "Office" || list.Value[0].Source != "config" {
		t.Fatalf("locations list = %+v", list)
	}
	mustFail(t, 1, []string{"configuration file"}, append([]string{"locations", "remove", "Office"}, common...)...)
	mustFail(t, 1, []string{"already exists", "configuration file"},
		append([]string{"locations", "add", "--name", "Office", "--country", "DE"}, common...)...)
	var c locationOut
	runJSON(t, &c, append([]string{"locations", "add", "--name", "Germany", "--country", "de",
		"--include-unknown-countries", "-o", "json"}, common...)...)
	if len(c.Countries) != 1 || c.Countries[0] != "DE" || !c.IncludeUnknown || c.Trusted {
		t.Errorf("country location = %+v", c)
	}
}

func TestIPsInvalidInput(t *testing.T) {
	common := ipDir(t)
	mustFail(t, 2, []string{"not an IP address"}, append([]string{"ips", "check", "300.1.2.3"}, common...)...)
	mustFail(t, 2, []string{"not an IP address or CIDR"}, append([]string{"ips", "block", "nonsense"}, common...)...)
	mustFail(t, 2, []string{"every address"}, append([]string{"ips", "block", "0.0.0.0/0"}, common...)...)
	mustFail(t, 2, []string{"--expires"}, append([]string{"ips", "block", "192.0.2.1", "--expires", "-1h"}, common...)...)
	mustFail(t, 1, []string{"no block record", "not found"}, append([]string{"ips", "unblock", "no-such-id"}, common...)...)
	mustFail(t, 2, []string{"not both"}, append([]string{"locations", "add", "--name", "X", "--cidr", "192.0.2.0/24",
		"--country", "DE"}, common...)...)
	mustFail(t, 2, []string{"must have IP ranges or countries"}, append([]string{"locations", "add", "--name", "X"}, common...)...)
	mustFail(t, 2, []string{"only IP-range locations can be trusted"},
		append([]string{"locations", "add", "--name", "X", "--country", "DE", "--trusted"}, common...)...)
	mustFail(t, 2, []string{"--cidr"}, append([]string{"locations", "add", "--name", "X", "--cidr", "10.0.0.0/33"}, common...)...)
	mustFail(t, 2, []string{"name"}, append([]string{"locations", "add", "--cidr", "10.0.0.0/8"}, common...)...)
	mustFail(t, 2, []string{"--output"}, append([]string{"ips", "list", "-o", "yaml"}, common...)...)
}

func TestFeedsListAndRefresh(t *testing.T) {
	common := ipDir(t)
	var list feedList
	runJSON(t, &list, append([]string{"feeds", "list", "-o", "json"}, common...)...)
	if len(list.Value) != 1 {
		t.Fatalf("feeds list = %+v", list)
	}
	f := list.Value[0]
	if f.Name != "test-drop" || f.Category != "malicious" || f.Action != "block" || f.Status != "ok" ||
		f.Prefixes < 1 || f.Malformed != 1 || len(f.SampleErrors) != 1 || f.LastError != "" {
		t.Errorf("feed = %+v", f)
	}
	if e := f.SampleErrors[0]; e != (ipintel.LineError{Line: 4, Text: "not-an-address", Err: e.Err}) {
		t.Errorf("sample error = %+v", e)
	}
	stdout, _, err := runRoot(t, nil, append([]string{"feeds", "list"}, common...)...)
	if err != nil || !strings.Contains(stdout, "test-drop") || !strings.Contains(stdout, "not-an-address") {
		t.Errorf("feeds list table: %v\n%s", err, stdout)
	}
	runJSON(t, &list, append([]string{"feeds", "refresh", "test-drop", "-o", "json"}, common...)...)
	if len(list.Value) != 1 || list.Value[0].Status != "ok" {
		t.Errorf("feeds refresh test-drop = %+v", list)
	}
	mustFail(t, 1, []string{"nope", "not configured"}, append([]string{"feeds", "refresh", "nope"}, common...)...)
}

func TestFeedFailureReported(t *testing.T) {
	dir, _ := initDir(t)
	cfg := writeFile(t, "portcullis.yaml", "feeds:\n  - name: gone\n    path: /nonexistent/portcullis-test.txt\n"+
		"    category: malicious\n    action: block\n")
	common := []string{"--config", cfg, "--data", dir}
	v := ipCheck(t, common, "198.51.100.7")
	if v.Blocked || len(v.FeedErrors) != 1 || v.FeedErrors[0].Feed != "gone" {
		t.Errorf("check with a failed feed = %+v", v)
	}
	r := mustFail(t, 1, []string{"every requested feed failed"}, append([]string{"feeds", "refresh"}, common...)...)
	if !strings.Contains(r.stdout, "gone") || !strings.Contains(r.stdout, "failed") {
		t.Errorf("feeds refresh output: %q", r.stdout)
	}
}
