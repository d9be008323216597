package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/bench"
	"github.com/portcullis-idp/portcullis/internal/testsvc"
)

// TestSmoke runs the whole harness with tiny sizes: it builds portcullis,
// starts real servers and drives every scenario. It checks that the harness
// works (results written, every load answered), not that targets are met:
// those are for the full run.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds portcullis and runs real servers")
	}
	out := t.TempDir()
	var log strings.Builder
	opts := bench.Options{Scenarios: bench.AllScenarios(), Smoke: true, Out: out}
	if _, err := bench.Run(t.Context(), opts, &log); err != nil {
		t.Fatalf("harness failed: %v\n%s", err, log.String())
	}
	t.Log(log.String())
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "results.md")); err != nil {
		t.Fatal(err)
	}
	var res bench.Results
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if !res.Smoke || res.Machine.NumCPU == 0 || res.Machine.GoVersion == "" {
		t.Errorf("machine info or smoke flag missing: %+v", res.Machine)
	}
	if len(res.Scenarios) != len(opts.Scenarios) {
		t.Fatalf("got %d scenarios, want %d", len(res.Scenarios), len(opts.Scenarios))
	}
	for _, s := range res.Scenarios {
		if s.Error != "" || len(s.Loads) == 0 || len(s.Metrics) == 0 {
			t.Errorf("%s: error %q, %d loads, %d metrics", s.Name, s.Error, len(s.Loads), len(s.Metrics))
		}
		for name, l := range s.Loads {
			if l.Answered == 0 || l.PerSecond <= 0 {
				t.Errorf("%s/%s: no throughput: %+v", s.Name, name, l)
			}
		}
	}
}

// TestSmokeScaleout runs the scaleout scenario with tiny sizes against the
// test PostgreSQL and Redis, and checks that the shared log was complete.
func TestSmokeScaleout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds portcullis and runs real servers")
	}
	dsn := testsvc.PostgresServer(t)
	redisURL := testsvc.Redis(t)
	var log strings.Builder
	res, err := bench.Run(t.Context(), bench.Options{Scenarios: []string{bench.ScenarioScaleout}, Smoke: true,
		Out: t.TempDir(), Postgres: dsn, Redis: redisURL}, &log)
	if err != nil {
		t.Fatalf("harness failed: %v\n%s", err, log.String())
	}
	s := res.Scenarios[0]
	complete := 0
	for _, m := range s.Metrics {
		if strings.Contains(m.Name, "sign-in log complete") {
			if m.Value != 1 {
				t.Errorf("%s = %v", m.Name, m.Value)
			}
			complete++
		}
	}
	if s.Error != "" || complete != 2 || len(s.Loads) != 4 {
		t.Fatalf("scaleout: error %q, %d completeness checks, %d loads\n%s", s.Error, complete, len(s.Loads), log.String())
	}
}
