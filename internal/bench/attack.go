package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// The under-attack scenario's shape, in multiples of the hashing capacity C
// measured in-process just before the server starts.
const (
	attackMultiple = 19.5 // wrong passwords on real accounts from many addresses
	sprayMultiple  = 1.0  // one password across accounts from a few addresses
	legitMultiple  = 0.2  // correct passwords from each user's familiar network
	sprayPassword  = "Autumn2026!"
	sprayAddresses = 4 // 198.51.100.1-4
)

// runAttack is scenario 3: attackers at 20x the hashing capacity while
// legitimate users sign in from familiar networks at 20% of it. It checks
// that legitimate users still get in quickly, that the server stays up and
// within memory, and that every answer has its sign-in record.
func runAttack(ctx context.Context, e *Env) (*ScenarioResult, error) {
	sz := e.Sizes
	r := &ScenarioResult{Name: ScenarioAttack, Loads: map[string]*Stats{}}
	dir, err := e.newDataDir(ctx, "attack", sz.Users)
	if err != nil {
		return r, err
	}
	e.logf("attack: argon2id ceiling in-process for %s (server not started yet)", sz.AttackRawTime)
	capacity, workers, err := rawVerifyRate(ctx, e.Hash, UserPassword, sz.AttackRawTime)
	if err != nil {
		return r, err
	}
	r.Params = map[string]any{
		"users": sz.Users, "legitUsers": sz.LegitUsers, "seconds": sz.AttackTime.Seconds(),
		"hashCapacityPerSecond": capacity, "rawGoroutines": workers,
		"attack": fmt.Sprintf("%.0fx capacity: wrong passwords for random real accounts from random addresses in 10.0.0.0/8", attackMultiple),
		"spray": fmt.Sprintf("%.0fx capacity: %q across accounts in order from %d addresses in 198.51.100.0/24",
			sprayMultiple, sprayPassword, sprayAddresses),
		"legit": fmt.Sprintf("%.1fx capacity: correct passwords, user i from 172.20.i.10 after one earlier sign-in there",
			legitMultiple),
		"config": "defaults (argon2id defaults, detection enforcing, hash queues as shipped)"}
	r.add(fmt.Sprintf("argon2id capacity C, verifies/s in-process (%d goroutines)", workers), capacity, "/s")
	srv, err := e.startServer(ctx, dir)
	if err != nil {
		return r, err
	}
	defer srv.Stop()
	answered := int64(0)
	e.logf("attack: %d legitimate users sign in once from their own networks", sz.LegitUsers)
	warm := Load{Name: "attack-familiarise", Addr: srv.Addr, Path: TokenPath, Concurrency: 4,
		MaxRequests: int64(sz.LegitUsers), Duration: 2 * time.Minute,
		Next: func(_ *rand.Rand, i int64) Request { return legitRequest(int(i)) }}.Run(ctx)
	r.Loads["familiarise"] = warm
	answered += warm.Answered
	if warm.Status["200"] != int64(sz.LegitUsers) {
		return r, fmt.Errorf("familiarising sign-ins: status %v codes %v", warm.Status, warm.Codes)
	}
	loads := attackLoads(srv, capacity, sz)
	e.logf("attack: %.0f attack/s + %.0f spray/s against %.1f legitimate/s for %s",
		loads[0].Rate, loads[1].Rate, loads[2].Rate, sz.AttackTime)
	peak := sampleRSS(srv)
	stats := runConcurrently(ctx, loads)
	peakKiB := peak()
	for i, name := range []string{"attack", "spray", "legit"} {
		r.Loads[name] = stats[i]
		answered += stats[i].Answered
	}
	reportAttack(r, stats, capacity, peakKiB, srv.Alive())
	return r, checkLog(srv, r, answered, stats)
}

// legitRequest is legitimate user i's sign-in from its familiar network.
func legitRequest(i int) Request {
	return Request{Body: passwordBody(userName(i), UserPassword), XFF: "172.20." + strconv.Itoa(i%256) + ".10"}
}

// attackLoads returns the paced attack, spray and legitimate loads.
func attackLoads(srv *Server, capacity float64, sz Sizes) []Load {
	secs := sz.AttackTime.Seconds()
	paced := func(name string, rate float64, conc int, next func(*rand.Rand, int64) Request) Load {
		return Load{Name: name, Addr: srv.Addr, Path: TokenPath, Concurrency: conc, Rate: rate,
			MaxRequests: int64(rate*secs) + 1, Duration: sz.AttackTime, Next: next}
	}
	users := int64(sz.Users)
	return []Load{
		paced("attack", attackMultiple*capacity, sz.AttackConc, func(rng *rand.Rand, i int64) Request {
			u := int(rng.Int64N(users))
			return Request{Body: passwordBody(userName(u), "Guess-"+strconv.FormatInt(i, 36)), XFF: randomIPv4In10(rng),
				CorrelationID: randomGUID(rng)}
		}),
		paced("spray", sprayMultiple*capacity, 16, func(_ *rand.Rand, i int64) Request {
			ip := "198.51.100." + strconv.FormatInt(1+i%sprayAddresses, 10)
			return Request{Body: passwordBody(userName(int((i/sprayAddresses)%users)), sprayPassword), XFF: ip}
		}),
		paced("legit", legitMultiple*capacity, 32, func(_ *rand.Rand, i int64) Request {
			return legitRequest(int(i % int64(sz.LegitUsers)))
		}),
	}
}

// runConcurrently runs the loads at the same time and returns their stats
// in order.
func runConcurrently(ctx context.Context, loads []Load) []*Stats {
	out := make([]*Stats, len(loads))
	done := make(chan struct{}, len(loads))
	for i := range loads {
		go func() {
			out[i] = loads[i].Run(ctx)
			done <- struct{}{}
		}()
	}
	for range loads {
		<-done
	}
	return out
}

func reportAttack(r *ScenarioResult, st []*Stats, capacity float64, peakKiB int64, alive bool) {
	attack, spray, legit := st[0], st[1], st[2]
	r.atLeast("attack + spray sent/s, in multiples of C", (attack.SentPerSecond+spray.SentPerSecond)/capacity, "x", 20)
	r.add("attack + spray answered/s (until the last answer)", attack.PerSecond+spray.PerSecond, "/s")
	r.add("attack sent/s", attack.SentPerSecond, "/s")
	r.add("attack p50", attack.P50Ms, "ms")
	r.add("attack p99", attack.P99Ms, "ms")
	r.add("spray sent/s", spray.SentPerSecond, "/s")
	sent := legit.Answered + legit.TransportErrors
	success := 0.0
	if sent > 0 {
		success = 100 * float64(legit.Status["200"]) / float64(sent)
	}
	r.add("legitimate sign-ins sent", float64(sent), "")
	r.atLeast("legitimate success", success, "%", 99)
	r.add("legitimate p50", legit.P50Ms, "ms")
	r.below("legitimate p99", legit.P99Ms, "ms", 1000)
	r.below("server RSS peak", mib(peakKiB), "MiB", 512)
	r.atLeast("server still running after the attack (1 = yes)", boolFloat(alive), "", 1)
	r.Notes = append(r.Notes, fmt.Sprintf("attack answers: %v %v; spray answers: %v %v; legitimate answers: %v %v",
		attack.Status, attack.Codes, spray.Status, spray.Codes, legit.Status, legit.Codes))
	for _, s := range st {
		if s.TransportErrors > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d transport errors (sent, no answer) in one load", s.TransportErrors))
		}
	}
}

// checkLog stops the server gracefully and compares the number of sign-in
// records with the number of answers the server gave.
func checkLog(srv *Server, r *ScenarioResult, answered int64, st []*Stats) error {
	if err := srv.Shutdown(60 * time.Second); err != nil {
		return err
	}
	records, err := countSignIns(srv.DataDir)
	if err != nil {
		return err
	}
	var lost int64
	for _, s := range st {
		lost += s.TransportErrors
	}
	r.add("answers received", float64(answered), "")
	r.add("sign-in records", float64(records), "")
	complete := records == answered
	if lost > 0 { // a request without an answer may or may not have been logged
		complete = records >= answered && records <= answered+lost
	}
	r.atLeast("sign-in log complete (1 = records match answers)", boolFloat(complete), "", 1)
	return nil
}

// countSignIns counts the records in a stopped server's database.
func countSignIns(dataDir string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, sqlstore.FileName)+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM signins`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count sign-in records: %w", err)
	}
	return n, nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
