package guard

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// DetectionPolicy configures automatic blocking (see config.Detection).
type DetectionPolicy struct {
	ReportOnly           bool
	ReportOnlyRules      []string
	Window               time.Duration
	SprayAccounts        int
	SprayMaxPerAccount   int
	StuffingUnknown      int
	StuffingFailureRatio float64
	VelocityFailures     int
	PrefixMultiplier     int
	BlockDuration        time.Duration
	MaxBlockDuration     time.Duration
	TrackedSources       int
}

// Detection rules.
const (
	RuleSpray    = "passwordSpray"
	RuleStuffing = "credentialStuffing"
	RuleVelocity = "failureVelocity"
)

// detectBuckets splits the window into a ring of counters: sliding to within
// one bucket, in constant memory per source.
const (
	detectBuckets     = 12
	maxAccountsPerSrc = 1024
	sampleAccounts    = 5
)

// detector keeps sliding-window statistics per address and per network
// (/24, /64) and reports when a rule trips. Memory is bounded by
// TrackedSources; the least recently seen sources are forgotten first.
type detector struct {
	p       DetectionPolicy
	mu      sync.Mutex
	sources map[string]*sourceStats
}

type sourceStats struct {
	buckets  [detectBuckets]detectBucket
	accounts map[string]*accountStat // subject -> failures in window
	samples  []string                // a few names tried, for the evidence
	last     time.Time
	// quietUntil suppresses repeated detections while a block stands.
	quietUntil time.Time
}

type detectBucket struct {
	epoch                        int64
	attempts, failures, unknowns int
}

type accountStat struct {
	failures int
	unknown  bool // a name with no account
	last     time.Time
}

// detection is a tripped rule, ready to become a block record.
type detection struct {
	Rule     string
	Prefix   netip.Prefix
	Evidence map[string]any
}

func newDetector(p DetectionPolicy) *detector {
	return &detector{p: p, sources: map[string]*sourceStats{}}
}

func (d *detector) bucketOf(now time.Time) int64 {
	return now.UnixNano() / int64(d.p.Window/detectBuckets)
}

// observe records one attempt from ip and returns the rules it tripped.
func (d *detector) observe(ip netip.Addr, subject, name string, unknown, failed bool, now time.Time) []detection {
	if d == nil || !ip.IsValid() || d.p.Window <= 0 {
		return nil
	}
	ip = ip.Unmap()
	net, _ := netip.ParsePrefix(NetworkOf(ip))
	scopes := []struct {
		prefix netip.Prefix
		mult   int
	}{{netip.PrefixFrom(ip, ip.BitLen()), 1}, {net, max(d.p.PrefixMultiplier, 1)}}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []detection
	for _, sc := range scopes {
		st := d.stats(sc.prefix.String(), now)
		st.add(d.bucketOf(now), subject, name, unknown, failed, now, d.p.Window)
		if failed && now.After(st.quietUntil) {
			if det, ok := d.evaluate(st, sc.prefix, sc.mult, now); ok {
				st.quietUntil = now.Add(d.p.Window)
				out = append(out, det)
			}
		}
	}
	return out
}

func (d *detector) stats(key string, now time.Time) *sourceStats {
	st, ok := d.sources[key]
	if ok {
		return st
	}
	if len(d.sources) >= d.p.TrackedSources {
		d.evictOldest(now)
	}
	st = &sourceStats{accounts: map[string]*accountStat{}}
	d.sources[key] = st
	return st
}

// evictOldest drops sources idle for a window, or else a sample of the
// least recently seen: bounded memory even under a flood of addresses.
func (d *detector) evictOldest(now time.Time) {
	var victim string
	var oldest time.Time
	n := 0
	for k, st := range d.sources {
		if now.Sub(st.last) > d.p.Window {
			delete(d.sources, k)
			continue
		}
		if victim == "" || st.last.Before(oldest) {
			victim, oldest = k, st.last
		}
		if n++; n >= 64 { // a sample is enough to find an old one
			break
		}
	}
	if len(d.sources) >= d.p.TrackedSources && victim != "" {
		delete(d.sources, victim)
	}
}

func (st *sourceStats) add(epoch int64, subject, name string, unknown, failed bool, now time.Time, window time.Duration) {
	b := &st.buckets[epoch%detectBuckets]
	if b.epoch != epoch {
		*b = detectBucket{epoch: epoch}
	}
	b.attempts++
	st.last = now
	if !failed {
		return
	}
	b.failures++
	if unknown {
		b.unknowns++
	}
	a, ok := st.accounts[subject]
	if !ok {
		if len(st.accounts) >= maxAccountsPerSrc {
			st.pruneAccounts(now, window)
		}
		if len(st.accounts) >= maxAccountsPerSrc {
			return // saturated: the counts already exceed any sane threshold
		}
		a = &accountStat{unknown: unknown}
		st.accounts[subject] = a
		if len(st.samples) < sampleAccounts {
			st.samples = append(st.samples, name)
		}
	}
	if now.Sub(a.last) > window {
		a.failures = 0
	}
	a.failures++
	a.last = now
}

func (st *sourceStats) pruneAccounts(now time.Time, window time.Duration) {
	for k, a := range st.accounts {
		if now.Sub(a.last) > window {
			delete(st.accounts, k)
		}
	}
}

// evaluate checks the rules against the window's counts.
func (d *detector) evaluate(st *sourceStats, prefix netip.Prefix, mult int, now time.Time) (detection, bool) {
	cur := d.bucketOf(now)
	attempts, failures, unknowns := 0, 0, 0
	for _, b := range st.buckets {
		if cur-b.epoch < detectBuckets {
			attempts, failures, unknowns = attempts+b.attempts, failures+b.failures, unknowns+b.unknowns
		}
	}
	accounts, unknownNames, maxPer := 0, 0, 0
	for _, a := range st.accounts {
		if now.Sub(a.last) <= d.p.Window {
			accounts++
			maxPer = max(maxPer, a.failures)
			if a.unknown {
				unknownNames++
			}
		}
	}
	evidence := map[string]any{"window": d.p.Window.String(), "attempts": attempts, "failures": failures,
		"unknownNameFailures": unknowns, "unknownNames": unknownNames, "distinctAccounts": accounts,
		"maxFailuresPerAccount": maxPer,
		"sampleNames":           append([]string(nil), st.samples...)}
	rule := ""
	switch {
	case accounts >= d.p.SprayAccounts*mult && maxPer <= d.p.SprayMaxPerAccount:
		rule = RuleSpray
	case unknownNames >= d.p.StuffingUnknown*mult && attempts > 0 && float64(failures)/float64(attempts) >= d.p.StuffingFailureRatio:
		rule = RuleStuffing
	case failures >= d.p.VelocityFailures*mult:
		rule = RuleVelocity
	default:
		return detection{}, false
	}
	return detection{Rule: rule, Prefix: prefix, Evidence: evidence}, true
}

// ruleReason is the block record's human-readable reason.
func ruleReason(det detection) string {
	e := det.Evidence
	switch det.Rule {
	case RuleSpray:
		return fmt.Sprintf("Password spray: failed sign-ins against %v distinct accounts (at most %v each) within %v.",
			e["distinctAccounts"], e["maxFailuresPerAccount"], e["window"])
	case RuleStuffing:
		return fmt.Sprintf("Credential stuffing: %v distinct names with no account tried, %v of %v attempts failed, within %v.",
			e["unknownNames"], e["failures"], e["attempts"], e["window"])
	}
	return fmt.Sprintf("Failure velocity: %v failed sign-ins within %v.", e["failures"], e["window"])
}

func evidenceJSON(det detection) string {
	b, _ := json.Marshal(det.Evidence) // maps marshal with sorted keys: stable records
	return string(b)
}
