package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFeedsAndLocationsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := `feeds:
  - {name: drop, url: "https://example.test/drop.txt", category: malicious, action: block, refresh: 1h}
  - {name: tor, path: /tmp/tor.txt, category: tor, action: report}
locations:
  - {name: HQ, cidrs: [203.0.113.0/24], trusted: true}
  - {name: Home countries, countries: [GB, DE]}
detection: {report_only: true, stuffing_failure_ratio: 0.75}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{File: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Feeds) != 2 || cfg.Feeds[0].Refresh != time.Hour || cfg.Feeds[1].Path != "/tmp/tor.txt" ||
		!cfg.Locations[0].Trusted || cfg.Locations[1].Countries[1] != "DE" || !cfg.Detection.ReportOnly ||
		cfg.Detection.StuffingFailureRatio != 0.75 || cfg.Detection.SprayAccounts != 20 {
		t.Fatalf("decoded %+v %+v %+v", cfg.Feeds, cfg.Locations, cfg.Detection)
	}
	bad := `feeds:
  - {name: x, pth: /a, category: evil, action: block}
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(LoadOptions{File: path}); err == nil || !strings.Contains(err.Error(), "pth") {
		t.Fatalf("unknown key inside a feed: %v", err)
	}
	cfg = Defaults()
	cfg.Feeds = []Feed{{Name: "a", Category: "evil", Action: "drop", Refresh: time.Second}}
	cfg.Locations = []Location{{Name: "", CIDRs: []string{"nope"}, Countries: []string{"gb"}}}
	var ve *ValidationError
	err = cfg.Validate()
	if !asValidation(err, &ve) || len(ve.Problems) < 7 {
		t.Fatalf("Validate = %v", err)
	}
}

func asValidation(err error, ve **ValidationError) bool {
	v, ok := err.(*ValidationError)
	*ve = v
	return ok
}
