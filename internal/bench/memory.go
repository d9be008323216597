package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// Cheap argon2id parameters for the memory scenario: every unknown name still
// costs one dummy hash, and a million default-cost hashes would take hours.
var cheapArgon2 = []string{"PORTCULLIS_PASSWORDS__ARGON2__MEMORY_KIB=1024", "PORTCULLIS_PASSWORDS__ARGON2__ITERATIONS=1"}

// runMemory sends N distinct unknown names from many addresses and reports
// how much the server's RSS grew.
func runMemory(ctx context.Context, e *Env) (*ScenarioResult, error) {
	sz := e.Sizes
	r := &ScenarioResult{Name: ScenarioMemory, Loads: map[string]*Stats{}, Params: map[string]any{
		"unknownNames": sz.MemoryNames, "warmupNames": sz.MemoryWarmup, "concurrency": sz.MemoryConc,
		"timeLimitSeconds": sz.MemoryTimeLimit.Seconds(), "detection": "report_only",
		"argon2": "m=1024 KiB, t=1 (cheap, so the run is bounded in time)", "sources": "random X-Forwarded-For in 10.0.0.0/8"}}
	r.Notes = append(r.Notes, "server ran with cheap argon2id (m=1024 KiB, t=1) and detection.report_only=true; "+
		"growth is VmRSS after the run minus VmRSS after a warm-up of distinct names")
	dir, err := e.newDataDir(ctx, "memory", 0)
	if err != nil {
		return r, err
	}
	env := append([]string{"PORTCULLIS_DETECTION__REPORT_ONLY=true"}, cheapArgon2...)
	srv, err := e.startServer(ctx, dir, env...)
	if err != nil {
		return r, err
	}
	defer srv.Stop()
	idle, err := srv.RSSKiB()
	if err != nil {
		return r, err
	}
	e.logf("memory: warm-up with %d names", sz.MemoryWarmup)
	r.Loads["warmup"] = unknownNames(ctx, srv, "warm", sz.MemoryWarmup, sz.MemoryConc, sz.MemoryTimeLimit)
	base, err := srv.RSSKiB()
	if err != nil {
		return r, err
	}
	baseHeap := heapMiB(srv)
	e.logf("memory: %d distinct unknown names, concurrency %d (RSS now %.1f MiB)", sz.MemoryNames, sz.MemoryConc, mib(base))
	peak := sampleRSS(srv)
	st := unknownNames(ctx, srv, "nobody", sz.MemoryNames, sz.MemoryConc, sz.MemoryTimeLimit)
	peakKiB := peak()
	r.Loads["names"] = st
	after, err := srv.RSSKiB()
	if err != nil {
		return r, err
	}
	r.add("RSS idle after start", mib(idle), "MiB")
	r.add("RSS after warm-up (baseline)", mib(base), "MiB")
	r.add(fmt.Sprintf("RSS after %d unknown names", st.Answered), mib(after), "MiB")
	r.add("RSS peak during the run", mib(max(peakKiB, after)), "MiB")
	r.below("RSS growth over the run (after minus baseline)", mib(after-base), "MiB", 50)
	r.add("RSS growth from idle, warm-up included", mib(after-idle), "MiB")
	r.add("Go heap in use after warm-up", baseHeap, "MiB")
	r.add("Go heap in use after the run", heapMiB(srv), "MiB")
	r.add("unknown-name refusals/s (cheap argon2id)", st.PerSecond, "/s")
	if st.StoppedBy == "time" {
		r.Notes = append(r.Notes, fmt.Sprintf("time limit reached after %d of %d names", st.Answered, sz.MemoryNames))
	}
	return r, nil
}

func unknownNames(ctx context.Context, srv *Server, prefix string, n int64, conc int, limit time.Duration) *Stats {
	return Load{Name: "memory-" + prefix, Addr: srv.Addr, Path: TokenPath, Concurrency: conc, MaxRequests: n, Duration: limit,
		Next: func(rng *rand.Rand, i int64) Request {
			name := prefix + strconv.FormatInt(i, 10) + "@" + Domain
			return Request{Body: passwordBody(name, "wrong-password-1"), XFF: randomIPv4In10(rng)}
		}}.Run(ctx)
}

// sampleRSS samples the server's RSS every 250 ms until the returned
// function is called, which returns the peak seen (KiB).
func sampleRSS(srv *Server) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if kib, err := srv.RSSKiB(); err == nil && kib > peak.Load() {
				peak.Store(kib)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// heapMiB is the server's Go heap in use (live objects plus fragmentation,
// not garbage already returned), or -1 if it cannot be read.
func heapMiB(srv *Server) float64 {
	v, err := srv.Metric("go_memstats_heap_inuse_bytes")
	if err != nil {
		return -1
	}
	return v / (1 << 20)
}
