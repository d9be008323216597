package ipintel

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// listServer serves a mutable list with ETag and Last-Modified and honours
// conditional requests, like a well-behaved feed publisher.
type listServer struct {
	mu       sync.Mutex
	body     string
	etag     string
	modified time.Time
	status   int // if non-zero, returned instead of the list
	sawINM   []string
	sawIMS   []string
}

func (s *listServer) set(body, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag, s.status = body, etag, 0
	s.modified = s.modified.Add(time.Hour)
}

func (s *listServer) fail(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

func (s *listServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sawINM = append(s.sawINM, r.Header.Get("If-None-Match"))
	s.sawIMS = append(s.sawIMS, r.Header.Get("If-Modified-Since"))
	if s.status != 0 {
		http.Error(w, "upstream broken", s.status)
		return
	}
	if r.Header.Get("If-None-Match") == s.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", s.etag)
	w.Header().Set("Last-Modified", s.modified.UTC().Format(http.TimeFormat))
	_, _ = w.Write([]byte(s.body))
}

func newListServer(t *testing.T, body, etag string) (*listServer, *httptest.Server) {
	t.Helper()
	ls := &listServer{body: body, etag: etag, modified: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(ls)
	t.Cleanup(srv.Close)
	return ls, srv
}

func newTestFeeds(t *testing.T, cfgs ...FeedConfig) *Feeds {
	t.Helper()
	f, err := NewFeeds(cfgs, nil, nil)
	if err != nil {
		t.Fatalf("NewFeeds: %v", err)
	}
	return f
}

func matchPrefixes(ms []FeedMatch) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Feed+"="+m.Prefix.String())
	}
	return out
}

func statusOf(t *testing.T, f *Feeds, name string) FeedStatus {
	t.Helper()
	for _, s := range f.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for %q", name)
	return FeedStatus{}
}

func TestFeedsHTTPLifecycle(t *testing.T) {
	ctx := context.Background()
	ls, srv := newListServer(t, dropSample, `"v1"`)
	f := newTestFeeds(t, FeedConfig{Name: "drop", URL: srv.URL, Category: CategoryMalicious, Action: ActionBlock})
	ip := netip.MustParseAddr("1.10.16.5")

	if got := f.Lookup(ip); got != nil {
		t.Fatalf("lookup before load = %v", got)
	}
	// First fetch loads.
	if err := f.Refresh(ctx, ""); err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	want := []FeedMatch{{Feed: "drop", Category: CategoryMalicious, Action: ActionBlock, Prefix: netip.MustParsePrefix("1.10.16.0/20")}}
	if got := f.Lookup(ip); !slices.Equal(got, want) {
		t.Fatalf("lookup = %v, want %v", got, want)
	}
	st := statusOf(t, f, "drop")
	if st.Prefixes != 3 || st.ETag != `"v1"` || st.LastModified == "" || st.LastError != "" {
		t.Fatalf("status after load = %+v", st)
	}

	// Second fetch is conditional and gets 304.
	if err := f.Refresh(ctx, "drop"); err != nil {
		t.Fatalf("second refresh: %v", err)
	}
	ls.mu.Lock()
	inm, ims := ls.sawINM[1], ls.sawIMS[1]
	ls.mu.Unlock()
	if inm != `"v1"` || ims != st.LastModified {
		t.Errorf("conditional headers = %q / %q, want %q / %q", inm, ims, `"v1"`, st.LastModified)
	}
	if st := statusOf(t, f, "drop"); st.NotModified != 1 || st.Prefixes != 3 {
		t.Errorf("after 304: %+v", st)
	}

	// A 500 keeps the previous list and records the error.
	ls.fail(http.StatusInternalServerError)
	if err := f.Refresh(ctx, "drop"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("refresh on 500: err = %v", err)
	}
	if got := f.Lookup(ip); !slices.Equal(got, want) {
		t.Errorf("lookup after 500 = %v, want previous %v", got, want)
	}
	if st := statusOf(t, f, "drop"); !strings.Contains(st.LastError, "500") || st.Prefixes != 3 || st.LastSuccess.After(st.LastAttempt) {
		t.Errorf("status after 500 = %+v", st)
	}

	// A changed list with a new ETag replaces the old one.
	ls.set("203.0.113.0/24 ; SBL1\n", `"v2"`)
	if err := f.Refresh(ctx, "drop"); err != nil {
		t.Fatalf("refresh v2: %v", err)
	}
	if got := f.Lookup(ip); got != nil {
		t.Errorf("old prefix still matches: %v", got)
	}
	if got := matchPrefixes(f.Lookup(netip.MustParseAddr("203.0.113.7"))); !slices.Equal(got, []string{"drop=203.0.113.0/24"}) {
		t.Errorf("new prefix lookup = %v", got)
	}
	if st := statusOf(t, f, "drop"); st.ETag != `"v2"` || st.LastError != "" || st.Prefixes != 1 {
		t.Errorf("status after v2 = %+v", st)
	}
}

func TestFeedsRejectsMostlyGarbage(t *testing.T) {
	ls, srv := newListServer(t, "198.51.100.0/24\n", `"a"`)
	f := newTestFeeds(t, FeedConfig{Name: "x", URL: srv.URL, Category: CategoryAnonymizer, Action: ActionReport})
	if err := f.Refresh(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	ls.set("<html>\n<body>oops</body>\n</html>\n10.0.0.1\n", `"b"`)
	if err := f.Refresh(context.Background(), "x"); err == nil {
		t.Fatal("mostly-garbage body accepted")
	}
	st := statusOf(t, f, "x")
	if st.Prefixes != 1 || st.Malformed != 3 || len(st.SampleErrors) != 3 || st.ETag != `"a"` {
		t.Errorf("status = %+v", st)
	}
	if f.Lookup(netip.MustParseAddr("198.51.100.1")) == nil {
		t.Error("last good copy lost")
	}
}

func TestFeedsBodyTooLarge(t *testing.T) {
	_, srv := newListServer(t, strings.Repeat("192.0.2.1\n", 100), `"a"`)
	f := newTestFeeds(t, FeedConfig{Name: "x", URL: srv.URL, Category: CategoryTor, Action: ActionBlock, MaxBytes: 100})
	err := f.Refresh(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), ErrTooLarge.Error()) {
		t.Fatalf("err = %v", err)
	}
	if st := statusOf(t, f, "x"); st.Prefixes != 0 || st.LastError == "" {
		t.Errorf("status = %+v", st)
	}
}

func TestFeedsFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tor.txt")
	write := func(body string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	write(torExitAddresses, t0)
	f := newTestFeeds(t, FeedConfig{Name: "tor", Path: path, Category: CategoryTor, Action: ActionBlock})
	ctx := context.Background()
	if err := f.Refresh(ctx, "tor"); err != nil {
		t.Fatal(err)
	}
	if got := matchPrefixes(f.Lookup(netip.MustParseAddr("185.220.101.22"))); !slices.Equal(got, []string{"tor=185.220.101.22/32"}) {
		t.Fatalf("lookup = %v", got)
	}
	// Unchanged file: skipped by modification time and size.
	if err := f.Refresh(ctx, "tor"); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, f, "tor"); st.NotModified != 1 || st.Prefixes != 3 {
		t.Errorf("status = %+v", st)
	}
	write("185.220.101.99\n", t0.Add(time.Minute))
	if err := f.Refresh(ctx, "tor"); err != nil {
		t.Fatal(err)
	}
	if f.Lookup(netip.MustParseAddr("185.220.101.22")) != nil || f.Lookup(netip.MustParseAddr("185.220.101.99")) == nil {
		t.Error("file change not picked up")
	}
	// A missing file keeps the last good copy.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(ctx, "tor"); err == nil {
		t.Fatal("missing file: no error")
	}
	if f.Lookup(netip.MustParseAddr("185.220.101.99")) == nil {
		t.Error("last good copy lost")
	}
}

func TestFeedsNestedPrefixesFromTwoFeeds(t *testing.T) {
	dir := t.TempDir()
	wide, narrow := filepath.Join(dir, "wide"), filepath.Join(dir, "narrow")
	for p, body := range map[string]string{wide: "10.0.0.0/8\n10.9.0.0/16\n", narrow: "10.1.2.0/24\n10.1.2.0/24\n"} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := newTestFeeds(t,
		FeedConfig{Name: "wide", Path: wide, Category: CategoryMalicious, Action: ActionBlock},
		FeedConfig{Name: "narrow", Path: narrow, Category: CategoryAnonymizer, Action: ActionReport},
	)
	if err := f.Refresh(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	got := f.Lookup(netip.MustParseAddr("10.1.2.3"))
	want := []FeedMatch{
		{Feed: "narrow", Category: CategoryAnonymizer, Action: ActionReport, Prefix: netip.MustParsePrefix("10.1.2.0/24")},
		{Feed: "wide", Category: CategoryMalicious, Action: ActionBlock, Prefix: netip.MustParsePrefix("10.0.0.0/8")},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Lookup = %v, want %v", got, want)
	}
}

func TestFeedsConcurrentLookupDuringSwap(t *testing.T) {
	const listA, listB = "10.0.0.0/8\n10.1.0.0/16\n", "10.0.0.0/8\n10.1.2.0/24\n172.16.0.0/12\n"
	ls, srv := newListServer(t, listA, `"a"`)
	f := newTestFeeds(t, FeedConfig{Name: "f", URL: srv.URL, Category: CategoryMalicious, Action: ActionBlock})
	ctx := context.Background()
	if err := f.Refresh(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("10.1.2.3")
	wantA := []string{"f=10.1.0.0/16", "f=10.0.0.0/8"}
	wantB := []string{"f=10.1.2.0/24", "f=10.0.0.0/8"}

	var stop atomic.Bool
	var seenA, seenB atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	// Two readers: enough to overlap every swap without starving the
	// refresher on small CI machines.
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				got := matchPrefixes(f.Lookup(ip))
				switch {
				case slices.Equal(got, wantA):
					seenA.Add(1)
				case slices.Equal(got, wantB):
					seenB.Add(1)
				default:
					errs <- fmt.Sprint(got)
					return
				}
			}
		})
	}
	for i := range 60 {
		if i%2 == 0 {
			ls.set(listB, fmt.Sprintf(`"b%d"`, i))
		} else {
			ls.set(listA, fmt.Sprintf(`"a%d"`, i))
		}
		if err := f.Refresh(ctx, "f"); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("mixed or wrong answer: %s", e)
	}
	t.Logf("lookups: %d old-shaped, %d new-shaped", seenA.Load(), seenB.Load())
}

func TestFeedsRun(t *testing.T) {
	ls, srv := newListServer(t, "192.0.2.0/24\n", `"a"`)
	f := newTestFeeds(t, FeedConfig{Name: "f", URL: srv.URL, Category: CategoryTor, Action: ActionBlock, Refresh: time.Millisecond})
	events := make(chan string, 16)
	f.onRefresh = func(name string, _ error) { events <- name }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()

	if name := <-events; name != "" {
		t.Fatalf("first event = %q, want initial load", name)
	}
	if f.Lookup(netip.MustParseAddr("192.0.2.1")) == nil {
		t.Fatal("initial load not visible")
	}
	ls.set("198.51.100.0/24\n", `"b"`)
	// Within two periodic refreshes the new list must be live: the first may
	// have started before set().
	for range 2 {
		if name := <-events; name != "f" {
			t.Fatalf("event = %q", name)
		}
	}
	if f.Lookup(netip.MustParseAddr("198.51.100.1")) == nil {
		t.Error("periodic refresh did not swap in the new list")
	}
	cancel()
	for { // drain so an in-flight refresh cannot block on its report
		select {
		case <-events:
		case <-done:
			return
		}
	}
}

func TestFeedConfigValidate(t *testing.T) {
	err := FeedConfig{Path: "/a", URL: "ftp://x", Category: "evil", Action: "drop", Refresh: -1}.Validate()
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"name is required", "mutually exclusive", `category "evil"`, `action "drop"`, "negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, c := range []FeedConfig{
		{Name: "a", URL: "ftp://x/list", Category: CategoryTor, Action: ActionBlock},
		{Name: "a", URL: "https:///list", Category: CategoryTor, Action: ActionBlock},
		{Name: "a", Category: CategoryTor, Action: ActionBlock},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: want error", c)
		}
	}
	ok := FeedConfig{Name: "a", URL: "https://example.org/l.txt", Category: CategoryTor, Action: ActionBlock, Refresh: time.Hour}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if _, err := NewFeeds([]FeedConfig{ok, ok}, nil, nil); err == nil || !strings.Contains(err.Error(), "more than once") {
		t.Errorf("duplicate names: err = %v", err)
	}
	if _, err := NewFeeds(nil, nil, nil); err != nil {
		t.Errorf("no feeds: %v", err)
	}
	f := newTestFeeds(t, ok)
	if err := f.Refresh(context.Background(), "nope"); err == nil {
		t.Error("unknown feed: no error")
	}
}

func TestFeedsFetchTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a stalled publisher
	}))
	t.Cleanup(srv.Close)
	f := newTestFeeds(t, FeedConfig{Name: "slow", URL: srv.URL, Category: CategoryTor, Action: ActionBlock, Timeout: 50 * time.Millisecond})
	err := f.Refresh(context.Background(), "slow")
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if st := statusOf(t, f, "slow"); st.LastError == "" || !st.LastSuccess.IsZero() {
		t.Errorf("status = %+v", st)
	}
}

func TestFeedsRunWithoutPeriodicFeedsReturnsOnCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l")
	if err := os.WriteFile(path, []byte("192.0.2.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newTestFeeds(t, FeedConfig{Name: "once", Path: path, Category: CategoryMalicious, Action: ActionReport})
	loaded := make(chan struct{})
	f.onRefresh = func(string, error) { close(loaded) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	<-loaded
	if f.Lookup(netip.MustParseAddr("192.0.2.1")) == nil {
		t.Error("initial load not visible")
	}
	select {
	case <-done:
		t.Fatal("Run returned before cancellation")
	default:
	}
	cancel()
	<-done
}
