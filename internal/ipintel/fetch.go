package ipintel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"time"
)

// errUnchanged signals that the source has not changed since the last good
// copy (HTTP 304 or same file modification time and size).
var errUnchanged = errors.New("unchanged")

// fetched is the outcome of reading a source successfully.
type fetched struct {
	res          ParseResult
	etag, lastMo string    // HTTP validators for the next conditional GET
	mod          time.Time // file modification time
	size         int64     // file size
}

// refreshFeed reads one feed and records the outcome. On any failure the
// last good copy stays in place: a feed that is briefly broken upstream
// must not silently unblock every address it listed.
func (f *Feeds) refreshFeed(ctx context.Context, fd *feed) error {
	fd.fetchMu.Lock()
	defer fd.fetchMu.Unlock()

	f.stateMu.Lock()
	prev := fd.status
	prevMod, prevSize, loaded := fd.fileMod, fd.fileSize, fd.loaded
	f.stateMu.Unlock()

	timeout := fd.cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	var got fetched
	var err error
	if fd.cfg.URL != "" {
		got, err = f.fetchURL(ctx, fd.cfg, prev.ETag, prev.LastModified)
	} else {
		got, err = readFile(ctx, fd.cfg, prevMod, prevSize, loaded)
	}
	if err == nil {
		err = checkQuality(got.res)
	}
	f.record(fd, start, got, err)
	if err != nil && !errors.Is(err, errUnchanged) {
		f.logger.Warn("ipintel: feed refresh failed; keeping last good copy",
			"feed", fd.cfg.Name, "err", err)
		return fmt.Errorf("feed %q: %w", fd.cfg.Name, err)
	}
	return nil
}

// checkQuality rejects a body that is mostly not a list, such as an HTML
// error page served with status 200, which would otherwise replace a good
// list with an empty one.
func checkQuality(res ParseResult) error {
	candidates := len(res.Prefixes) + res.MalformedCount
	if res.MalformedCount > 0 && 2*res.MalformedCount > candidates {
		return fmt.Errorf("rejected: %d of %d address lines are malformed", res.MalformedCount, candidates)
	}
	return nil
}

// record stores the outcome of one refresh under stateMu.
func (f *Feeds) record(fd *feed, start time.Time, got fetched, err error) {
	f.stateMu.Lock()
	st := &fd.status
	st.LastAttempt = start
	switch {
	case errors.Is(err, errUnchanged):
		st.NotModified++
		st.LastSuccess = start
		st.LastError = ""
		f.stateMu.Unlock()
		return
	case err != nil:
		st.LastError = err.Error()
		if got.res.Lines > 0 {
			st.Malformed, st.SampleErrors = got.res.MalformedCount, got.res.Malformed
		}
		f.stateMu.Unlock()
		return
	}
	st.LastSuccess = start
	st.LastError = ""
	st.Malformed, st.SampleErrors = got.res.MalformedCount, got.res.Malformed
	st.ETag, st.LastModified = got.etag, got.lastMo
	fd.fileMod, fd.fileSize = got.mod, got.size
	before := len(fd.prefixes)
	fd.prefixes = dedupe(got.res.Prefixes)
	fd.loaded = true
	f.gen++
	after := len(fd.prefixes)
	f.stateMu.Unlock()

	// Logged outside the lock so a slow log sink cannot stall Status.
	if after == 0 && before > 0 {
		// Accepted (an empty list is legal) but worth a look: a truncated
		// upstream file looks exactly like this.
		f.logger.Warn("ipintel: feed is now empty", "feed", fd.cfg.Name, "previous", before)
	}
	f.logger.Info("ipintel: feed loaded", "feed", fd.cfg.Name,
		"prefixes", after, "malformed", got.res.MalformedCount)
}

// dedupe sorts and removes repeated prefixes so one feed reports one match
// per prefix however often its publisher repeated it.
func dedupe(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, netip.Prefix.Compare)
	return slices.Clip(slices.Compact(ps))
}

// fetchURL performs a conditional GET using the validators of the last good
// response.
func (f *Feeds) fetchURL(ctx context.Context, c FeedConfig, etag, lastMod string) (fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return fetched{}, fmt.Errorf("build request: %w", err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastMod != "" {
		req.Header.Set("If-Modified-Since", lastMod)
	}
	// Some publishers throttle or refuse anonymous default user agents.
	req.Header.Set("User-Agent", "Portcullis-ipintel/1")
	resp, err := f.client.Do(req)
	if err != nil {
		return fetched{}, fmt.Errorf("fetch: %w", err)
	}
	defer func() {
		// Drain a little so the connection can be reused, but never read
		// an unbounded error body.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		_ = resp.Body.Close()
	}()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return fetched{}, errUnchanged
	case http.StatusOK:
	default:
		return fetched{}, fmt.Errorf("fetch: unexpected status %s", resp.Status)
	}
	res, err := ParseListLimit(resp.Body, c.MaxBytes)
	if err != nil {
		return fetched{res: res}, fmt.Errorf("read body: %w", err)
	}
	return fetched{
		res:    res,
		etag:   resp.Header.Get("ETag"),
		lastMo: resp.Header.Get("Last-Modified"),
	}, nil
}

// readFile re-reads a local list unless its modification time and size show
// it is unchanged since the last good read.
func readFile(ctx context.Context, c FeedConfig, prevMod time.Time, prevSize int64, loaded bool) (fetched, error) {
	fh, err := os.Open(c.Path)
	if err != nil {
		return fetched{}, fmt.Errorf("open: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fetched{}, fmt.Errorf("stat: %w", err)
	}
	if loaded && fi.ModTime().Equal(prevMod) && fi.Size() == prevSize {
		return fetched{}, errUnchanged
	}
	// Files cannot stall like sockets, but a FIFO or network mount can;
	// honour the deadline between reads.
	res, err := ParseListLimit(ctxReader{ctx: ctx, r: fh}, c.MaxBytes)
	if err != nil {
		return fetched{res: res}, fmt.Errorf("read %s: %w", c.Path, err)
	}
	return fetched{res: res, mod: fi.ModTime(), size: fi.Size()}, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("read cancelled: %w", err)
	}
	return c.r.Read(p)
}
