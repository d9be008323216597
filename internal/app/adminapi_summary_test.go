package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/rbac"
)

// TestSignInSummaryAPI: wrong passwords from two addresses (one trying two
// accounts) and a success are summarised exactly: totals, the hour they
// fall in, the codes (failures first) and the addresses with the accounts
// each tried; a span or interval out of bounds is a clear 400; a user
// without a role that reads sign-ins is refused.
func TestSignInSummaryAPI(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	ts.addUser("bob@contoso.test", "Bob", alicePassword, true)
	ts.attempt("alice@contoso.test", "wrong-1", "203.0.113.5")
	ts.attempt("bob@contoso.test", "wrong-2", "203.0.113.5")
	ts.attempt("alice@contoso.test", "wrong-3", "203.0.113.5")
	ts.attempt("alice@contoso.test", "wrong-4", "198.51.100.9")
	if r := ts.attempt("alice@contoso.test", alicePassword, "198.51.100.1"); r.status != http.StatusOK {
		t.Fatalf("alice: %s", r.raw)
	}
	_, tok := ts.withRole("rita", rbac.ReportsReader) // a success of its own, from the loopback address
	r := ts.api("GET", "/v1.0/portcullis/signIns/summary", tok, "")
	var sum struct {
		AsOf, Since, Until time.Time
		Interval           string
		Total, Failures    int64
		Intervals          []struct {
			Start           time.Time
			Total, Failures int64
		}
		ErrorCodes []struct {
			ErrorCode int
			ErrorName string
			Count     int64
		}
		TopFailingAddresses []struct {
			IPAddress          string
			Failures, Accounts int64
		}
	}
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &sum) != nil {
		t.Fatalf("summary: %d %s", r.status, r.raw)
	}
	var perHour, failedPerHour int64
	for _, in := range sum.Intervals {
		perHour, failedPerHour = perHour+in.Total, failedPerHour+in.Failures
	}
	if sum.Total != 6 || sum.Failures != 4 || len(sum.Intervals) != 24 || sum.Interval != "PT1H" || perHour != 6 ||
		failedPerHour != 4 || sum.Until.Sub(sum.Since) != 24*time.Hour || sum.Intervals[0].Total != 0 {
		t.Fatalf("summary totals: %s", r.raw)
	}
	if len(sum.ErrorCodes) != 2 || sum.ErrorCodes[0].ErrorCode != 50126 || sum.ErrorCodes[0].Count != 4 ||
		sum.ErrorCodes[0].ErrorName != "InvalidUserNameOrPassword" || sum.ErrorCodes[1].ErrorCode != 0 || sum.ErrorCodes[1].Count != 2 {
		t.Fatalf("summary codes: %+v", sum.ErrorCodes)
	}
	if len(sum.TopFailingAddresses) != 2 || sum.TopFailingAddresses[0].IPAddress != "203.0.113.5" ||
		sum.TopFailingAddresses[0].Failures != 3 || sum.TopFailingAddresses[0].Accounts != 2 ||
		sum.TopFailingAddresses[1].IPAddress != "198.51.100.9" || sum.TopFailingAddresses[1].Failures != 1 {
		t.Fatalf("summary addresses: %+v", sum.TopFailingAddresses)
	}

	// Bounds are widened to whole intervals: asking about a span a
	// microsecond off is asking about the same span.
	odd := ts.api("GET", "/v1.0/portcullis/signIns/summary?since="+url.QueryEscape("2026-11-20T10:17:03.000001Z")+
		"&until="+url.QueryEscape("2026-11-20T12:00:00.000001Z"), tok, "")
	if !strings.Contains(odd.raw, `"since":"2026-11-20T10:00:00Z"`) || !strings.Contains(odd.raw, `"until":"2026-11-20T13:00:00Z"`) {
		t.Fatalf("a span off the hour: %s", odd.raw)
	}

	now := time.Now().UTC()
	for query, message := range map[string]string{
		"interval=PT0H": "interval must be",
		"interval=P1W":  "interval must be",
		"since=" + url.QueryEscape(now.Add(-40*24*time.Hour).Format(time.RFC3339)):                    "at most 31 days",
		"since=" + url.QueryEscape(now.Add(-30*24*time.Hour).Format(time.RFC3339)) + "&interval=PT1M": "at most 1,000 intervals",
		"since=yesterday": "since must be an RFC 3339 time",
		"until=" + url.QueryEscape(now.Add(-48*time.Hour).Format(time.RFC3339)) + "&since=" + url.QueryEscape(now.Format(time.RFC3339)): "before until",
		"top=1000": "top must be",
	} {
		if r := ts.api("GET", "/v1.0/portcullis/signIns/summary?"+query, tok, ""); r.status != http.StatusBadRequest ||
			!strings.Contains(r.raw, message) {
			t.Errorf("?%s: %d %s", query, r.status, r.raw)
		}
	}
	_, nobody := ts.withRole("nora")
	if r := ts.api("GET", "/v1.0/portcullis/signIns/summary", nobody, ""); r.status != http.StatusForbidden {
		t.Fatalf("a user without a role: %d", r.status)
	}
}
