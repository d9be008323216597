package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// ScenarioScaleout runs instances on PostgreSQL and Redis. It is not in
// the default set: it needs both servers (-postgres, -redis).
const ScenarioScaleout = "scaleout"

// scaleoutInstances are the deployment sizes measured.
var scaleoutInstances = []int{1, 3}

// runScaleout measures, for one and for three `portcullis serve`
// instances sharing one PostgreSQL database (storage) and one Redis
// (state), successful password grants and locked-account refusals spread
// over the instances, the CPU each costs (instances, and the whole
// machine, which includes PostgreSQL, Redis and the load generator), and
// that the shared sign-in log holds exactly one record per answer. On one
// machine the instances share its cores, so the numbers are per-request
// costs for sizing, not a demonstration of scaling.
func runScaleout(ctx context.Context, e *Env) (*ScenarioResult, error) {
	sz := e.Sizes
	r := &ScenarioResult{Name: ScenarioScaleout, Loads: map[string]*Stats{}, Params: map[string]any{
		"instances": scaleoutInstances, "users": sz.Users, "grantSeconds": sz.GrantTime.Seconds(),
		"grantConcurrency": sz.GrantConc, "refusalSeconds": sz.RefusalTime.Seconds(), "refusalConcurrency": sz.RefusalConc,
		"postgres": redactDSN(e.Postgres), "redis": redactDSN(e.Redis), "lockoutThreshold": 1}}
	for _, n := range scaleoutInstances {
		if err := scaleoutRun(ctx, e, r, n); err != nil {
			return r, fmt.Errorf("%d instances: %w", n, err)
		}
	}
	return r, nil
}

func scaleoutRun(ctx context.Context, e *Env, r *ScenarioResult, n int) error {
	sz := e.Sizes
	schema := fmt.Sprintf("portcullis_bench_%d_%d", n, time.Now().UnixNano())
	dsn, drop, err := benchSchema(ctx, e.Postgres, schema)
	if err != nil {
		return err
	}
	defer drop()
	env := []string{"PORTCULLIS_STORAGE__TYPE=postgres", "PORTCULLIS_STORAGE__DSN=" + dsn,
		"PORTCULLIS_STATE__TYPE=redis", "PORTCULLIS_STATE__URL=" + e.Redis, "PORTCULLIS_INSTANCES=" + strconv.Itoa(n),
		"PORTCULLIS_LOCKOUT__THRESHOLD=1", "PORTCULLIS_LOCKOUT__DURATION=30m"}
	e.logf("scaleout: %d instance(s): initialising PostgreSQL schema %s with %d users", n, schema, sz.Users)
	if _, err := e.newDirectory(ctx, fmt.Sprintf("scaleout-%d", n), sz.Users, env...); err != nil {
		return err
	}
	var servers []*Server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	var addrs []string
	for i := range n {
		dir := filepath.Join(e.Tmp, fmt.Sprintf("scaleout-%d-instance-%d", n, i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		s, err := e.startServer(ctx, dir, env...)
		if err != nil {
			return err
		}
		servers = append(servers, s)
		addrs = append(addrs, s.Addr)
	}
	label := fmt.Sprintf("%d instance", n)
	if n > 1 {
		label += "s"
	}

	e.logf("scaleout: %s: password grants, concurrency %d, up to %s", label, sz.GrantConc, sz.GrantTime)
	grants := measured(servers, func() *Stats {
		return Load{Name: "scaleout-grant", Addrs: addrs, Path: TokenPath, Concurrency: sz.GrantConc,
			MaxRequests: int64(sz.Users), Duration: sz.GrantTime,
			Next: func(rng *rand.Rand, i int64) Request {
				return Request{Body: passwordBody(userName(int(i)), UserPassword), XFF: randomIPv4In10(rng), CorrelationID: randomGUID(rng)}
			}}.Run(ctx)
	})
	if grants.Status["200"] == 0 {
		return fmt.Errorf("no successful sign-in: status %v, codes %v", grants.Status, grants.Codes)
	}
	r.Loads[label+" grants"] = grants.Stats
	r.add(label+": successful password grants/s", grants.Rate(200), "/s")
	r.add(label+": grant p99", grants.P99Ms, "ms")
	r.add(label+": instances' CPU per grant", 1000*grants.instanceCPU/float64(grants.Status["200"]), "ms")
	r.add(label+": machine CPU per grant", 1000*grants.machineCPU/float64(grants.Status["200"]), "ms")

	if err := lockAccount(ctx, servers[0]); err != nil {
		return err
	}
	keys0, mem0, _ := redisUsage(ctx, e.Redis)
	e.logf("scaleout: %s: locked-account refusals, concurrency %d, up to %s", label, sz.RefusalConc, sz.RefusalTime)
	refusals := measured(servers, func() *Stats {
		return Load{Name: "scaleout-locked", Addrs: addrs, Path: TokenPath, Concurrency: sz.RefusalConc,
			MaxRequests: sz.RefusalMax, Duration: sz.RefusalTime,
			Next: func(rng *rand.Rand, _ int64) Request {
				return Request{Body: passwordBody(userName(lockedUser), "wrong-password-1"), XFF: randomIPv4In10(rng), CorrelationID: randomGUID(rng)}
			}}.Run(ctx)
	})
	if keys, mem, err := redisUsage(ctx, e.Redis); err == nil {
		sources := float64(refusals.Answered) // each from its own random address
		r.add(label+": Redis keys added by the refusals (detection windows of each address and /24)", float64(keys-keys0), "")
		r.add(label+": Redis memory added by the refusals", float64(mem-mem0)/(1<<20), "MiB")
		if sources > 0 {
			r.add(label+": Redis memory per attacking address", float64(mem-mem0)/sources, "B")
		}
	}
	r.Loads[label+" refusals"] = refusals.Stats
	r.add(label+": locked refusals/s (each one a sign-in record)", refusals.PerSecond, "/s")
	r.add(label+": refusal p99", refusals.P99Ms, "ms")
	if refusals.Answered > 0 {
		r.add(label+": instances' CPU per refusal", 1000*refusals.instanceCPU/float64(refusals.Answered), "ms")
		r.add(label+": machine CPU per refusal", 1000*refusals.machineCPU/float64(refusals.Answered), "ms")
		r.add(label+": refusals that were "+expectedCode, 100*float64(refusals.Codes[expectedCode])/float64(refusals.Answered), "%")
	}

	// Every answer is in the shared log once: the setup's two, the
	// grants' and the refusals'.
	for _, s := range servers {
		if err := s.Shutdown(30 * time.Second); err != nil { // flushes the log writers
			return err
		}
	}
	records, err := countRecords(ctx, dsn)
	if err != nil {
		return err
	}
	answered := 2 + grants.Answered + refusals.Answered
	complete := 0.0
	if records == answered {
		complete = 1
	}
	r.atLeast(label+": sign-in log complete (1 = one record per answer)", complete, "", 1)
	if records != answered {
		r.Notes = append(r.Notes, fmt.Sprintf("%s: %d records for %d answers", label, records, answered))
	}
	return nil
}

// measuredStats is a load's statistics with the CPU spent during it.
type measuredStats struct {
	*Stats
	instanceCPU float64 // seconds, all instances
	machineCPU  float64 // seconds, the whole machine
}

func measured(servers []*Server, run func() *Stats) measuredStats {
	inst := func() float64 {
		total := 0.0
		for _, s := range servers {
			total += s.CPUSeconds()
		}
		return total
	}
	i0, m0 := inst(), machineCPUSeconds()
	st := run()
	return measuredStats{Stats: st, instanceCPU: inst() - i0, machineCPU: machineCPUSeconds() - m0}
}

// machineCPUSeconds is the busy CPU time of the whole machine so far
// (/proc/stat: user, nice, system, irq, softirq, steal), 0 without /proc.
func machineCPUSeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	busy := 0.0
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseFloat(f[i], 64)
		busy += v
	}
	return busy / clockTicksPerSecond
}

// benchSchema creates a schema for one run and returns a DSN using it and
// a function dropping it.
func benchSchema(ctx context.Context, dsn, schema string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL at %s: %w", redactDSN(dsn), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + url.QueryEscape(schema), drop, nil
}

func countRecords(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, "SELECT count(*) FROM signins").Scan(&n)
	return n, err
}

// redisUsage is Redis's key count and used memory (INFO memory).
func redisUsage(ctx context.Context, rawURL string) (int64, int64, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return 0, 0, err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	keys, err := rdb.DBSize(ctx).Result()
	if err != nil {
		return 0, 0, err
	}
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			mem, err := strconv.ParseInt(v, 10, 64)
			return keys, mem, err
		}
	}
	return keys, 0, fmt.Errorf("no used_memory in INFO")
}

func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}
