package app_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/geo"
)

const maliciousReason = "Sign-in was blocked because it came from an IP address with malicious activity."

// TestPasswordSprayIsBlocked: one address tries one password against 50
// accounts through a trusted proxy. It is blocked by the spray rule; later
// attempts from it are refused before any hash (even with the right
// password), and a user at a trusted location is unaffected.
func TestPasswordSprayIsBlocked(t *testing.T) {
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Detection.ReportOnly = false
		c.Locations = []config.Location{{Name: "HQ", CIDRs: []string{"203.0.113.0/24"}, Trusted: true}}
	})
	const attacker = "198.51.100.66"
	for i := range 50 {
		ts.addUser(fmt.Sprintf("user%02d@contoso.test", i), fmt.Sprintf("User %d", i), alicePassword+"-x", true)
	}
	codes := map[int]int{}
	for i := range 50 {
		r := ts.token(passwordForm(fmt.Sprintf("user%02d@contoso.test", i), "Winter2026!"), "X-Forwarded-For", attacker,
			"client-request-id", corr(2000+i))
		codes[r.errorCode()]++
	}
	if codes[50126] != 20 || codes[50053] != 30 {
		t.Fatalf("spray responses %v: want the first 20 verified (50126), the rest refused (50053)", codes)
	}
	rec := ts.signInByCorrelation(corr(2049))
	p := rec.Protection
	if rec.Status.ErrorCode != 50053 || rec.Status.FailureReason != maliciousReason || p == nil || !p.IPBlocked ||
		p.PasswordCorrect != nil || p.HashQueueMilliseconds != 0 || len(p.IPMatches) != 1 || p.IPMatches[0].Rule != "passwordSpray" {
		t.Fatalf("refused spray attempt record: %+v %+v", rec.Status, p)
	}
	blocks, err := ts.srv.Store().ListIPBlocks(context.Background(), true, time.Now())
	if err != nil || len(blocks) != 1 || blocks[0].Prefix != attacker+"/32" || blocks[0].Origin != "detection" ||
		!strings.Contains(blocks[0].Evidence, `"distinctAccounts":20`) || blocks[0].ExpiresAt.IsZero() {
		t.Fatalf("block records = %+v, %v", blocks, err)
	}
	// Locked means blocked: the right password from the attacker's address is refused too.
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", attacker); r.errorCode() != 50053 {
		t.Fatalf("right password from the blocked address: %s", r.raw)
	}
	// Alice at the trusted office signs in.
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "203.0.113.5"); r.status != 200 {
		t.Fatalf("alice at a trusted location: %s", r.raw)
	}
	// The neighbouring address is not collateral: /24 thresholds are higher.
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "198.51.100.77"); r.status != 200 {
		t.Fatalf("neighbour of the attacker: %s", r.raw)
	}
}

// TestReportOnlyDetectionDoesNotBlock: with report_only the spray is
// recorded as a report-only block record and nothing is refused.
func TestReportOnlyDetectionDoesNotBlock(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} }) // report-only by default in tests
	for i := range 25 {
		ts.addUser(fmt.Sprintf("u%02d@contoso.test", i), "U", alicePassword+"-x", true)
		if r := ts.token(passwordForm(fmt.Sprintf("u%02d@contoso.test", i), "Spring2026!"), "X-Forwarded-For", "198.51.100.9"); r.errorCode() != 50126 {
			t.Fatalf("report-only refused attempt %d: %s", i, r.raw)
		}
	}
	all, err := ts.srv.Store().ListIPBlocks(context.Background(), false, time.Now())
	if err != nil || len(all) != 1 || !all[0].ReportOnly || all[0].Rule != "passwordSpray" {
		t.Fatalf("report-only records = %+v, %v", all, err)
	}
}

// TestSignInLocationFromGeoIP: with a GeoIP database the sign-in record
// carries Graph's location, and a country location matches by country.
func TestSignInLocationFromGeoIP(t *testing.T) {
	db := filepath.Join(t.TempDir(), "city.mmdb")
	err := geo.WriteTestDB(db, []geo.TestRecord{{Prefix: netip.MustParsePrefix("81.2.69.0/24"), Country: "GB",
		State: "England", City: "London", Lat: 51.5142, Lon: -0.0931}})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.GeoIP.Database = db
	})
	ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "81.2.69.160", "client-request-id", corr(3000))
	loc := ts.signInByCorrelation(corr(3000)).Location
	if loc.City != "London" || loc.State != "England" || loc.CountryOrRegion != "GB" || loc.GeoCoordinates == nil ||
		loc.GeoCoordinates.Latitude != 51.5142 {
		t.Fatalf("location = %+v", loc)
	}
}
