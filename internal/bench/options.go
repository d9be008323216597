// Package bench is the Portcullis benchmark harness behind
// cmd/portcullis-bench: it builds and starts a real `portcullis serve`
// process on loopback, drives load at it from this (separate) process, and
// writes results.json and results.md.
package bench

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Scenario names, in the order they run.
const (
	ScenarioHash     = "hash"
	ScenarioRefusals = "refusals"
	ScenarioAttack   = "attack"
	ScenarioMemory   = "memory"
)

var allScenarios = []string{ScenarioHash, ScenarioRefusals, ScenarioAttack, ScenarioMemory}

// optionalScenarios run only when named: they need servers the default
// run does not (PostgreSQL and Redis).
var optionalScenarios = []string{ScenarioScaleout}

// AllScenarios returns every default scenario name, in run order.
func AllScenarios() []string { return slices.Clone(allScenarios) }

// Options configure one harness run.
type Options struct {
	Scenarios []string
	Smoke     bool
	Out       string
	// MemoryNames overrides the memory scenario's name count (0 = default).
	MemoryNames int64
	// Postgres and Redis are the servers the scaleout scenario uses.
	Postgres, Redis string
}

// Sizes are the bounded request counts and time limits of a run.
type Sizes struct {
	Users           int           // users imported per data directory
	RawHashTime     time.Duration // in-process argon2id ceiling measurement
	GrantTime       time.Duration // successful password grants
	GrantConc       int           // 2 x cores
	RefusalTime     time.Duration // per refusal variant
	RefusalMax      int64         // request bound per refusal variant
	RefusalConc     int
	AttackRawTime   time.Duration // in-process argon2id capacity before the attack
	AttackTime      time.Duration // length of the attack
	AttackConc      int           // connections carrying the attack
	LegitUsers      int           // distinct legitimate users (each with its own network)
	MemoryNames     int64         // distinct unknown names
	MemoryWarmup    int64         // distinct unknown names sent before the baseline sample
	MemoryConc      int
	MemoryTimeLimit time.Duration // hard limit; the memory run takes as long as N names take
}

// SizesFor returns the full or smoke sizes.
func SizesFor(smoke bool) Sizes {
	cores := runtime.NumCPU()
	if smoke {
		return Sizes{Users: 200, RawHashTime: time.Second, GrantTime: 2 * time.Second, GrantConc: 2 * cores,
			RefusalTime: 2 * time.Second, RefusalMax: 100_000, RefusalConc: 64,
			AttackRawTime: time.Second, AttackTime: 3 * time.Second, AttackConc: 160, LegitUsers: 20,
			MemoryNames: 2_000, MemoryWarmup: 200, MemoryConc: 32, MemoryTimeLimit: 20 * time.Second}
	}
	return Sizes{Users: 10_000, RawHashTime: 10 * time.Second, GrantTime: 30 * time.Second, GrantConc: 2 * cores,
		RefusalTime: 20 * time.Second, RefusalMax: 2_000_000, RefusalConc: 64,
		AttackRawTime: 5 * time.Second, AttackTime: 60 * time.Second, AttackConc: 1024, LegitUsers: 200,
		MemoryNames: 1_000_000, MemoryWarmup: 10_000, MemoryConc: 32, MemoryTimeLimit: 20 * time.Minute}
}

// ParseFlags reads the command line of portcullis-bench.
func ParseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("portcullis-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run: "+
		strings.Join(allScenarios, ", ")+" (the default set), and "+strings.Join(optionalScenarios, ", ")+" (needs -postgres and -redis)")
	smoke := fs.Bool("smoke", false, "tiny sizes and 1-2 s limits: checks the harness, not the targets")
	out := fs.String("out", "bench-results", "directory for results.json and results.md")
	names := fs.Int64("memory-names", 0, "distinct unknown names for the memory scenario (0 = the default: 1,000,000, or 2,000 with -smoke)")
	pg := fs.String("postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL for the scaleout scenario (a schema per run, dropped after)")
	rd := fs.String("redis", "redis://127.0.0.1:6379/0", "Redis for the scaleout scenario")
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	opts, err := buildOptions(*scen, *smoke, *out, fs.Args())
	if err == nil && *names > 0 {
		opts.MemoryNames = *names
	}
	opts.Postgres, opts.Redis = *pg, *rd
	if err != nil {
		fmt.Fprintln(stderr, "portcullis-bench:", err)
		fs.Usage()
	}
	return opts, err
}

func buildOptions(scen string, smoke bool, out string, rest []string) (Options, error) {
	if len(rest) > 0 {
		return Options{}, fmt.Errorf("unexpected arguments: %v", rest)
	}
	opts := Options{Smoke: smoke, Out: out}
	for _, s := range strings.Split(scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) && !slices.Contains(optionalScenarios, s) {
			return Options{}, fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(append(AllScenarios(), optionalScenarios...), ", "))
		}
		if !slices.Contains(opts.Scenarios, s) {
			opts.Scenarios = append(opts.Scenarios, s)
		}
	}
	if len(opts.Scenarios) == 0 {
		return Options{}, fmt.Errorf("no scenarios selected")
	}
	return opts, nil
}
