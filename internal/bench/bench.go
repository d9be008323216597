package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
)

// Domain is the bench tenant's domain; UserPassword is every imported user's.
const (
	Domain        = "bench.test"
	UserPassword  = "Tulip-Harbour-7391!"
	adminPassword = "Quartz-Meadow-5820?"
)

// Env is what every scenario shares: the built binary, a temp directory and
// the one precomputed argon2id hash (default parameters) of UserPassword.
type Env struct {
	Bin   string
	Tmp   string
	Hash  string
	Sizes Sizes
	Smoke bool
	Log   io.Writer
	// Postgres and Redis: the scaleout scenario's servers.
	Postgres, Redis string
}

func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(e.Log, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

type scenarioFunc func(ctx context.Context, e *Env) (*ScenarioResult, error)

var scenarios = map[string]scenarioFunc{
	ScenarioHash:     runHash,
	ScenarioRefusals: runRefusals,
	ScenarioAttack:   runAttack,
	ScenarioMemory:   runMemory,
	ScenarioScaleout: runScaleout,
}

// Run builds portcullis, runs the selected scenarios, writes results.json and
// results.md into opts.Out, and prints the table to w. A failing scenario is
// recorded and the others still run; the first failure is returned. Targets
// not met are results, not errors.
func Run(ctx context.Context, opts Options, w io.Writer) (*Results, error) {
	tmp, err := os.MkdirTemp("", "portcullis-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	e := &Env{Tmp: tmp, Sizes: SizesFor(opts.Smoke), Smoke: opts.Smoke, Log: w, Postgres: opts.Postgres, Redis: opts.Redis}
	if opts.MemoryNames > 0 {
		e.Sizes.MemoryNames = opts.MemoryNames
	}
	e.logf("building %s", modulePath)
	if e.Bin, err = buildBinary(ctx, tmp); err != nil {
		return nil, err
	}
	if e.Hash, err = password.Hash(UserPassword, password.DefaultParams()); err != nil {
		return nil, err
	}
	res := &Results{Machine: machineInfo(ctx), Started: time.Now().UTC(), Smoke: opts.Smoke}
	var firstErr error
	for _, name := range opts.Scenarios {
		e.logf("scenario %s", name)
		sr, err := scenarios[name](ctx, e)
		if sr == nil {
			sr = &ScenarioResult{Name: name}
		}
		if err != nil {
			sr.Error = err.Error()
			firstErr = cmpOr(firstErr, fmt.Errorf("scenario %s: %w", name, err))
			e.logf("scenario %s failed: %v", name, err)
		}
		sr.finish(opts.Smoke)
		res.Scenarios = append(res.Scenarios, sr)
	}
	res.Finished = time.Now().UTC()
	if err := res.write(opts.Out); err != nil {
		return res, err
	}
	fmt.Fprintf(w, "\n%s\nWrote %s and %s\n", res.markdownTable(), resultsPath(opts.Out, "json"), resultsPath(opts.Out, "md"))
	return res, firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// passwordBody is a password-grant form for the CLI client.
func passwordBody(user, pw string) string {
	return url.Values{"grant_type": {"password"}, "client_id": {app.CLIClientID}, "username": {user},
		"password": {pw}, "scope": {"openid profile offline_access"}}.Encode()
}

// once sends a single request and returns its stats (setup checks).
func once(ctx context.Context, s *Server, r Request) *Stats {
	return Load{Name: "once", Addr: s.Addr, Path: TokenPath, Concurrency: 1, MaxRequests: 1, Duration: requestTimeout,
		Next: func(_ *rand.Rand, _ int64) Request { return r }}.Run(ctx)
}
