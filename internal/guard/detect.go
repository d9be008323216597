package guard

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
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
	detectBuckets  = 12
	sampleAccounts = 5
	// maxTrackedAccounts bounds the per-account entries of all sources
	// together (24 bytes each): a flood of addresses, each trying many
	// names, cannot grow the detector without bound.
	maxTrackedAccounts = 1 << 20
)

// detector keeps sliding-window statistics per address and per network
// (/24, /64) and reports when a rule trips. Memory is bounded by
// TrackedSources (about 500 bytes each for a single address) and
// maxTrackedAccounts; the least recently seen sources are forgotten first.
type detector struct {
	p DetectionPolicy
	// shared, when set, keeps the windows where every instance counts
	// (Redis); the in-process windows then serve only while it cannot be
	// reached.
	shared  store.DetectionWindows
	onError func(error)
	seed    maphash.Seed
	mu      sync.Mutex
	sources map[netip.Prefix]*sourceStats
	entries int // sum of len(accounts) over sources
}

type sourceStats struct {
	buckets [detectBuckets]detectBucket
	// accounts holds one entry per distinct account that failed here. A
	// slice, not a map: most sources see one or two accounts, and the rules
	// never need more than limit (their highest threshold), so a scan is
	// cheap and an entry costs 24 bytes instead of a map's ~400 per source.
	accounts []accountStat
	limit    int
	samples  []string // a few names tried, for the evidence
	last     time.Time
	// quietUntil suppresses repeated detections while a block stands.
	quietUntil time.Time
}

type detectBucket struct {
	epoch                        int64
	attempts, failures, unknowns int32
}

type accountStat struct {
	subject  uint64 // keyed hash of the budget subject
	last     int64  // Unix nanoseconds of the latest failure
	failures int32
	unknown  bool // a name with no account
}

// detection is a tripped rule, ready to become a block record.
type detection struct {
	Rule     string
	Prefix   netip.Prefix
	Evidence map[string]any
}

func newDetector(p DetectionPolicy) *detector {
	return &detector{p: p, seed: maphash.MakeSeed(), sources: map[netip.Prefix]*sourceStats{}}
}

func (d *detector) bucketOf(now time.Time) int64 {
	return now.UnixNano() / int64(d.p.Window/detectBuckets)
}

// observe records one attempt from ip and returns the rules it tripped.
func (d *detector) observe(ctx context.Context, ip netip.Addr, subject, name string, unknown, failed bool, now time.Time) []detection {
	if d == nil || !ip.IsValid() || d.p.Window <= 0 {
		return nil
	}
	if d.shared != nil {
		dets, err := d.observeShared(ctx, ip, subject, name, unknown, failed, now)
		if err == nil {
			return dets
		}
		if d.onError != nil {
			d.onError(err)
		}
		// Counted here until the shared windows answer again: detection
		// goes on per instance rather than stopping.
	}
	scopes := d.scopesOf(ip)
	subjectHash := maphash.String(d.seed, subject)
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []detection
	for _, sc := range scopes {
		st := d.stats(sc.prefix, sc.mult, now)
		d.entries += st.add(d.bucketOf(now), subjectHash, name, unknown, failed, now, d.p.Window)
		if failed && now.After(st.quietUntil) {
			if det, ok := d.evaluate(st, sc.prefix, sc.mult, now); ok {
				st.quietUntil = now.Add(d.p.Window)
				out = append(out, det)
			}
		}
	}
	return out
}

// scopesOf are the address itself and its network (/24, /64), the
// network's thresholds multiplied by PrefixMultiplier.
func (d *detector) scopesOf(ip netip.Addr) [2]scope {
	ip = ip.Unmap().WithZone("")
	netBits := 64
	if ip.Is4() {
		netBits = 24
	}
	network, _ := ip.Prefix(netBits)
	return [2]scope{{netip.PrefixFrom(ip, ip.BitLen()), 1}, {network, max(d.p.PrefixMultiplier, 1)}}
}

type scope struct {
	prefix netip.Prefix
	mult   int
}

// observeShared counts the attempt in the shared windows and judges their
// totals; of the instances seeing a rule trip, the one that claims the
// scope records the block.
func (d *detector) observeShared(ctx context.Context, ip netip.Addr, subject, name string, unknown, failed bool, now time.Time) ([]detection, error) {
	// The subject as it is (a user ID, or a keyed hash of an unknown
	// name): every instance must name an account alike, which this
	// process's maphash seed would not.
	scopes := d.scopesOf(ip)
	obs := store.DetectionObservation{Slot: scopes[1].prefix.String(), Subject: subject, Name: name, Unknown: unknown,
		Failed: failed, Epoch: d.bucketOf(now), Buckets: detectBuckets, Now: now, Window: d.p.Window}
	for _, sc := range scopes {
		obs.Scopes = append(obs.Scopes, store.DetectionScope{Prefix: sc.prefix.String(),
			Limit: max(d.p.SprayAccounts, d.p.StuffingUnknown)*sc.mult + 1})
	}
	counts, err := d.shared.ObserveAttempt(ctx, obs)
	if err != nil || !failed {
		return nil, err
	}
	var out []detection
	for i, sc := range scopes {
		det, ok := d.judge(counts[i], sc.prefix, sc.mult)
		if !ok {
			continue
		}
		claimed, err := d.shared.ClaimDetection(ctx, sc.prefix.String(), d.p.Window)
		if err != nil {
			return nil, err
		}
		if claimed {
			out = append(out, det)
		}
	}
	return out, nil
}

func (d *detector) stats(key netip.Prefix, mult int, now time.Time) *sourceStats {
	st, ok := d.sources[key]
	if ok {
		return st
	}
	for len(d.sources) >= d.p.TrackedSources || d.entries >= maxTrackedAccounts {
		if !d.evictOldest(now) {
			break
		}
	}
	st = &sourceStats{limit: max(d.p.SprayAccounts, d.p.StuffingUnknown)*mult + 1}
	d.sources[key] = st
	return st
}

// evictOldest drops sources idle for a window, or else the least recently
// seen of a sample: bounded memory even under a flood of addresses. It
// reports whether it freed anything.
func (d *detector) evictOldest(now time.Time) bool {
	var victim netip.Prefix
	var oldest time.Time
	n, freed, found := 0, false, false
	for k, st := range d.sources {
		if now.Sub(st.last) > d.p.Window {
			d.drop(k, st)
			freed = true
			continue
		}
		if !found || st.last.Before(oldest) {
			victim, oldest, found = k, st.last, true
		}
		if n++; n >= 64 { // a sample is enough to find an old one
			break
		}
	}
	if !freed && found {
		d.drop(victim, d.sources[victim])
		freed = true
	}
	return freed
}

func (d *detector) drop(key netip.Prefix, st *sourceStats) {
	d.entries -= len(st.accounts)
	delete(d.sources, key)
}

// add records one attempt and returns how many account entries it added
// (negative when pruning removed some).
func (st *sourceStats) add(epoch int64, subject uint64, name string, unknown, failed bool, now time.Time, window time.Duration) int {
	b := &st.buckets[epoch%detectBuckets]
	if b.epoch != epoch {
		*b = detectBucket{epoch: epoch}
	}
	b.attempts++
	st.last = now
	if !failed {
		return 0
	}
	b.failures++
	if unknown {
		b.unknowns++
	}
	delta := 0
	i := slices.IndexFunc(st.accounts, func(a accountStat) bool { return a.subject == subject })
	if i < 0 {
		if len(st.accounts) >= st.limit {
			delta -= st.pruneAccounts(now, window)
		}
		if len(st.accounts) >= st.limit {
			return delta // saturated: the counts already exceed every threshold
		}
		st.accounts = append(st.accounts, accountStat{subject: subject, unknown: unknown})
		i = len(st.accounts) - 1
		delta++
		if len(st.samples) < sampleAccounts {
			st.samples = append(st.samples, name)
		}
	}
	a := &st.accounts[i]
	if now.UnixNano()-a.last > int64(window) {
		a.failures = 0
	}
	a.failures++
	a.last = now.UnixNano()
	return delta
}

func (st *sourceStats) pruneAccounts(now time.Time, window time.Duration) int {
	before := len(st.accounts)
	cutoff := now.UnixNano() - int64(window)
	st.accounts = slices.DeleteFunc(st.accounts, func(a accountStat) bool { return a.last < cutoff })
	return before - len(st.accounts)
}

// evaluate checks the rules against the window's counts.
func (d *detector) evaluate(st *sourceStats, prefix netip.Prefix, mult int, now time.Time) (detection, bool) {
	cur := d.bucketOf(now)
	var c store.DetectionCounts
	for _, b := range st.buckets {
		if cur-b.epoch < detectBuckets {
			c.Attempts, c.Failures, c.UnknownFailures = c.Attempts+int(b.attempts), c.Failures+int(b.failures),
				c.UnknownFailures+int(b.unknowns)
		}
	}
	cutoff := now.UnixNano() - int64(d.p.Window)
	for _, a := range st.accounts {
		if a.last >= cutoff {
			c.Accounts++
			c.MaxPerAccount = max(c.MaxPerAccount, int(a.failures))
			if a.unknown {
				c.UnknownNames++
			}
		}
	}
	c.Samples = append([]string(nil), st.samples...)
	return d.judge(c, prefix, mult)
}

// judge applies the rules to a scope's counts, wherever they were kept.
func (d *detector) judge(c store.DetectionCounts, prefix netip.Prefix, mult int) (detection, bool) {
	evidence := map[string]any{"window": d.p.Window.String(), "attempts": c.Attempts, "failures": c.Failures,
		"unknownNameFailures": c.UnknownFailures, "unknownNames": c.UnknownNames, "distinctAccounts": c.Accounts,
		"maxFailuresPerAccount": c.MaxPerAccount, "sampleNames": c.Samples}
	rule := ""
	switch {
	case c.Accounts >= d.p.SprayAccounts*mult && c.MaxPerAccount <= d.p.SprayMaxPerAccount:
		rule = RuleSpray
	case c.UnknownNames >= d.p.StuffingUnknown*mult && c.Attempts > 0 &&
		float64(c.Failures)/float64(c.Attempts) >= d.p.StuffingFailureRatio:
		rule = RuleStuffing
	case c.Failures >= d.p.VelocityFailures*mult:
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
