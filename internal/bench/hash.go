package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory/password"
)

// rawVerifyRate measures argon2id verifications per second in this process
// with one goroutine per GOMAXPROCS: the hashing ceiling of the machine.
func rawVerifyRate(ctx context.Context, hash, pw string, d time.Duration) (float64, int, error) {
	workers := runtime.GOMAXPROCS(0)
	var stop atomic.Bool
	var done atomic.Int64
	var failed atomic.Value
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				ok, err := password.Verify(hash, pw)
				if err != nil || !ok {
					failed.Store(fmt.Errorf("verify: ok=%v err=%v", ok, err))
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return 0, workers, err
	}
	return float64(done.Load()) / time.Since(start).Seconds(), workers, ctx.Err()
}

// runHash compares successful password grants per second over HTTP with the
// raw argon2id ceiling measured in this process.
func runHash(ctx context.Context, e *Env) (*ScenarioResult, error) {
	sz := e.Sizes
	p := password.DefaultParams()
	r := &ScenarioResult{Name: ScenarioHash, Loads: map[string]*Stats{}, Params: map[string]any{
		"argon2": fmt.Sprintf("m=%d KiB, t=%d, p=%d (defaults, server and harness)", p.MemoryKiB, p.Iterations, p.Parallelism),
		"users":  sz.Users, "rawSeconds": sz.RawHashTime.Seconds(), "grantSeconds": sz.GrantTime.Seconds(),
		"grantConcurrency": sz.GrantConc, "grantMaxRequests": sz.Users}}
	dir, err := e.newDataDir(ctx, "hash", sz.Users)
	if err != nil {
		return r, err
	}
	e.logf("hash: argon2id ceiling in-process for %s (server not started yet)", sz.RawHashTime)
	before, workers, err := rawVerifyRate(ctx, e.Hash, UserPassword, sz.RawHashTime)
	if err != nil {
		return r, err
	}
	r.Params["rawGoroutines"] = workers
	srv, err := e.startServer(ctx, dir)
	if err != nil {
		return r, err
	}
	e.logf("hash: password grants, %d users, concurrency %d, up to %s", sz.Users, sz.GrantConc, sz.GrantTime)
	cpuServer, cpuSelf := srv.CPUSeconds(), selfCPUSeconds()
	st := Load{Name: "hash-grant", Addr: srv.Addr, Path: TokenPath, Concurrency: sz.GrantConc,
		MaxRequests: int64(sz.Users), Duration: sz.GrantTime,
		Next: func(rng *rand.Rand, i int64) Request {
			return Request{Body: passwordBody(userName(int(i)), UserPassword), XFF: randomIPv4In10(rng), CorrelationID: randomGUID(rng)}
		}}.Run(ctx)
	cpuServer, cpuSelf = srv.CPUSeconds()-cpuServer, selfCPUSeconds()-cpuSelf
	srv.Stop()
	// The ceiling again, right after: on a shared machine the neighbours'
	// load drifts, and the mean of before and after brackets the grants.
	e.logf("hash: argon2id ceiling in-process again for %s (server stopped)", sz.RawHashTime)
	after, _, err := rawVerifyRate(ctx, e.Hash, UserPassword, sz.RawHashTime)
	if err != nil {
		return r, err
	}
	raw := (before + after) / 2
	r.add(fmt.Sprintf("argon2id verifies/s in-process (%d goroutines), before the grants", workers), before, "/s")
	r.add(fmt.Sprintf("argon2id verifies/s in-process (%d goroutines), after the grants", workers), after, "/s")
	r.Loads["grant"] = st
	ok := st.Rate(200)
	if st.Status["200"] == 0 {
		return r, fmt.Errorf("no successful sign-in: status %v, codes %v", st.Status, st.Codes)
	}
	r.add(fmt.Sprintf("successful password grants/s (concurrency %d)", sz.GrantConc), ok, "/s")
	r.atLeast("grants/s as share of the mean argon2id ceiling", 100*ok/raw, "%", 85)
	if st.ElapsedSec > 0 && cpuServer > 0 {
		r.add("server CPU during the grants", cpuServer/st.ElapsedSec, "cores")
		r.add("harness CPU during the grants", cpuSelf/st.ElapsedSec, "cores")
		r.add("server CPU per successful grant", 1000*cpuServer/float64(st.Status["200"]), "ms")
	}
	r.add("grant p50", st.P50Ms, "ms")
	r.add("grant p99", st.P99Ms, "ms")
	if other := st.Answered - st.Status["200"]; other > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d answers were not 200: %v %v", other, st.Status, st.Codes))
	}
	return r, nil
}
