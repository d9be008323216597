package ipintel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Feed categories and actions.
const (
	CategoryMalicious  = "malicious"
	CategoryAnonymizer = "anonymizer"
	CategoryTor        = "tor"

	ActionBlock  = "block"
	ActionReport = "report"

	// DefaultTimeout bounds one fetch so a stalled server cannot pin a
	// refresher goroutine (and the feed's staleness) forever.
	DefaultTimeout = 30 * time.Second
)

// FeedConfig describes one list.
type FeedConfig struct {
	Name     string
	Path     string // local file; exactly one of Path and URL
	URL      string // http or https
	Category string // malicious | anonymizer | tor
	Action   string // block | report
	// Refresh is how often the list is re-read after the initial load;
	// 0 means never.
	Refresh time.Duration
	// Timeout bounds one fetch or read; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxBytes bounds the list size; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// Validate reports every problem with c at once, so an operator fixes a
// configuration in one pass rather than one error per restart.
func (c FeedConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(c.Name) == "" {
		bad("name is required")
	}
	switch {
	case c.Path == "" && c.URL == "":
		bad("one of path or url is required")
	case c.Path != "" && c.URL != "":
		bad("path and url are mutually exclusive; set only one")
	case c.URL != "":
		if err := validateURL(c.URL); err != nil {
			errs = append(errs, err)
		}
	}
	switch c.Category {
	case CategoryMalicious, CategoryAnonymizer, CategoryTor:
	default:
		bad("category %q is invalid; want malicious, anonymizer or tor", c.Category)
	}
	switch c.Action {
	case ActionBlock, ActionReport:
	default:
		bad("action %q is invalid; want block or report", c.Action)
	}
	if c.Refresh < 0 {
		bad("refresh %s is negative; use 0 to load once", c.Refresh)
	}
	if c.Timeout < 0 {
		bad("timeout %s is negative", c.Timeout)
	}
	if c.MaxBytes < 0 {
		bad("max bytes %d is negative", c.MaxBytes)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("feed %q: %w", c.Name, err)
	}
	return nil
}

func validateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url is invalid: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url scheme %q is not supported; want http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("url has no host")
	}
	return nil
}

// FeedMatch is one feed listing an address.
type FeedMatch struct {
	Feed, Category, Action string
	Prefix                 netip.Prefix
}

// FeedStatus is a feed's health as an administrator sees it. Prefixes
// describes the copy in use (the last good one); Malformed and SampleErrors
// describe the most recent parse, even a rejected one, because that is what
// explains LastError.
type FeedStatus struct {
	Name, Source, Category, Action string
	Prefixes, Malformed            int
	LastAttempt, LastSuccess       time.Time
	LastError                      string
	NotModified                    int
	ETag, LastModified             string
	SampleErrors                   []LineError
}

// feed is one configured list and its last good copy.
type feed struct {
	cfg     FeedConfig
	fetchMu sync.Mutex // one fetch of this feed at a time

	// Guarded by Feeds.stateMu. prefixes is replaced, never modified, so a
	// rebuild may keep using a slice it copied out under the lock.
	prefixes []netip.Prefix
	status   FeedStatus
	fileMod  time.Time
	fileSize int64
	loaded   bool
}

// Feeds holds the configured lists and the merged snapshot that lookups
// read.
type Feeds struct {
	client *http.Client
	logger *slog.Logger
	feeds  []*feed
	byName map[string]int

	snap atomic.Pointer[PrefixSet[uint32]] // value = index into feeds

	stateMu sync.Mutex // guards feed state and gen; held only briefly
	gen     uint64     // bumped whenever any feed's prefixes change

	buildMu  sync.Mutex // serialises rebuilds, never taken by readers
	builtGen uint64

	// onRefresh, if set, is told about every refresh Run performs. Tests use
	// it to synchronise without sleeping.
	onRefresh func(name string, err error)
}

// NewFeeds validates configs and returns Feeds with an empty snapshot;
// call Refresh or Run to load the lists. A nil client means
// http.DefaultClient and a nil logger discards.
func NewFeeds(configs []FeedConfig, client *http.Client, logger *slog.Logger) (*Feeds, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Feeds{client: client, logger: logger, byName: make(map[string]int, len(configs))}
	var errs []error
	for i, c := range configs {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
		if _, dup := f.byName[c.Name]; dup && c.Name != "" {
			errs = append(errs, fmt.Errorf("feed %q: name is used more than once", c.Name))
		}
		f.byName[c.Name] = i
		f.feeds = append(f.feeds, &feed{cfg: c, status: initialStatus(c)})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ipintel feeds: %w", err)
	}
	// snap stays nil until the first rebuild: a nil set is empty.
	return f, nil
}

func initialStatus(c FeedConfig) FeedStatus {
	src := c.URL
	if c.Path != "" {
		src = c.Path
	}
	return FeedStatus{Name: c.Name, Source: src, Category: c.Category, Action: c.Action}
}

// Lookup returns every feed listing ip, most specific prefix first. It
// reads the current snapshot through an atomic pointer: no lock, and never
// a wait for a fetch or rebuild in progress. Most addresses are on no list,
// and for those it returns nil without allocating.
func (f *Feeds) Lookup(ip netip.Addr) []FeedMatch {
	s := f.snap.Load()
	if !s.Contains(ip) {
		return nil
	}
	var out []FeedMatch
	s.walk(ip, func(p netip.Prefix, idx uint32) bool {
		c := &f.feeds[idx].cfg
		out = append(out, FeedMatch{Feed: c.Name, Category: c.Category, Action: c.Action, Prefix: p})
		return true
	})
	return out
}

// Status returns every feed's status in configuration order.
func (f *Feeds) Status() []FeedStatus {
	f.stateMu.Lock()
	defer f.stateMu.Unlock()
	out := make([]FeedStatus, len(f.feeds))
	for i, fd := range f.feeds {
		out[i] = fd.status
		out[i].Prefixes = len(fd.prefixes)
		out[i].SampleErrors = slices.Clone(fd.status.SampleErrors)
	}
	return out
}

// Refresh fetches or re-reads one feed now ("" = all, concurrently), then
// rebuilds and swaps the snapshot if anything changed. A failed feed keeps
// its last good copy; the returned error reports the failures.
func (f *Feeds) Refresh(ctx context.Context, name string) error {
	if name != "" {
		i, ok := f.byName[name]
		if !ok {
			return fmt.Errorf("ipintel: unknown feed %q", name)
		}
		err := f.refreshFeed(ctx, f.feeds[i])
		f.rebuild()
		return err
	}
	errs := make([]error, len(f.feeds))
	var wg sync.WaitGroup
	for i, fd := range f.feeds {
		wg.Go(func() { errs[i] = f.refreshFeed(ctx, fd) })
	}
	wg.Wait()
	f.rebuild()
	return errors.Join(errs...)
}

// Run loads every feed, then refreshes each on its own interval until ctx
// is done, and returns only then. It blocks; start it in its own goroutine. Lookups keep being
// served from the previous snapshot throughout.
func (f *Feeds) Run(ctx context.Context) {
	if err := f.Refresh(ctx, ""); err != nil {
		f.logger.Warn("ipintel: initial feed load incomplete", "err", err)
	}
	if f.onRefresh != nil {
		f.onRefresh("", nil)
	}
	var wg sync.WaitGroup
	for _, fd := range f.feeds {
		if fd.cfg.Refresh <= 0 {
			continue
		}
		wg.Go(func() { f.runFeed(ctx, fd) })
	}
	wg.Wait()
	// Return on cancellation even if no feed refreshes periodically, so
	// callers can rely on one lifetime rule.
	<-ctx.Done()
}

func (f *Feeds) runFeed(ctx context.Context, fd *feed) {
	t := time.NewTicker(fd.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := f.refreshFeed(ctx, fd)
		f.rebuild()
		if f.onRefresh != nil {
			f.onRefresh(fd.cfg.Name, err)
		}
	}
}

// rebuild compiles all feeds' current prefixes into a new snapshot and
// publishes it. It runs on the refresher's goroutine; readers keep using
// the old snapshot until the single atomic Store below.
func (f *Feeds) rebuild() {
	f.buildMu.Lock()
	defer f.buildMu.Unlock()

	f.stateMu.Lock()
	gen := f.gen
	lists := make([][]netip.Prefix, len(f.feeds))
	total := 0
	for i, fd := range f.feeds {
		lists[i] = fd.prefixes
		total += len(fd.prefixes)
	}
	f.stateMu.Unlock()

	// Every rebuild reads the latest state under buildMu, so the last one
	// to run always publishes the newest data; skipping an up-to-date
	// rebuild just saves the work.
	if gen == f.builtGen {
		return
	}
	// The handle is the feed index: it is the value we need back, and as
	// the tie-breaker it orders matches of one prefix by configuration.
	keys := make([]sortKey, 0, total)
	for i, list := range lists {
		for _, p := range list {
			keys = appendKey(keys, p, uint32(i))
		}
	}
	set := buildSet(keys, func(h uint32) uint32 { return h })
	f.snap.Store(set)
	f.builtGen = gen
}
