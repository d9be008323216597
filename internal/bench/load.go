package bench

import (
	"bufio"
	"bytes"
	"context"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds every single request; a scenario therefore ends at
// most this long after its time limit.
const requestTimeout = 10 * time.Second

// Request is one token request: a form body, the simulated source address
// (X-Forwarded-For, believed because 127.0.0.1 is a trusted proxy) and an
// optional client-request-id.
type Request struct {
	Body          string
	XFF           string
	CorrelationID string
}

// Load is a bounded, time-limited load: Concurrency workers, each on its own
// keep-alive connection, send requests until MaxRequests have been started
// or Duration has passed. Without a Rate it is closed-loop (each worker sends
// its next request as soon as the last is answered); with one, request i is
// not sent before start + i/Rate, so the offered load is fixed however fast
// or slow the server answers, up to what Concurrency connections can carry.
type Load struct {
	Name        string
	Addr        string   // 127.0.0.1:PORT
	Addrs       []string // several instances: worker w uses Addrs[w mod len], as a load balancer spreading connections would
	Path        string
	Concurrency int
	MaxRequests int64
	Duration    time.Duration
	Rate        float64 // requests per second; 0 = closed loop
	Next        func(rng *rand.Rand, i int64) Request
}

// Stats are the outcome of a Load. Latencies are per answered request, from
// writing the request to reading the whole body.
type Stats struct {
	Concurrency     int              `json:"concurrency"`
	MaxRequests     int64            `json:"maxRequests"`
	TimeLimitSec    float64          `json:"timeLimitSeconds"`
	OfferedRate     float64          `json:"offeredPerSecond,omitempty"` // paced loads only
	Sent            int64            `json:"sent"`                       // answered + transport errors
	SentPerSecond   float64          `json:"sentPerSecond"`
	Answered        int64            `json:"answered"`
	TransportErrors int64            `json:"transportErrors"`
	ElapsedSec      float64          `json:"elapsedSeconds"`
	PerSecond       float64          `json:"answeredPerSecond"`
	P50Ms           float64          `json:"p50Ms"`
	P90Ms           float64          `json:"p90Ms"`
	P99Ms           float64          `json:"p99Ms"`
	MaxMs           float64          `json:"maxMs"`
	Status          map[string]int64 `json:"status"`
	Codes           map[string]int64 `json:"aadstsCodes"`
	StoppedBy       string           `json:"stoppedBy"` // "requests" or "time"
}

// Rate is how many answers per second had the given HTTP status.
func (s *Stats) Rate(status int) float64 {
	if s.ElapsedSec == 0 {
		return 0
	}
	return float64(s.Status[strconv.Itoa(status)]) / s.ElapsedSec
}

// Run executes the load and returns its statistics.
func (l Load) Run(ctx context.Context) *Stats {
	var issued atomic.Int64
	var stop atomic.Bool
	timer := time.AfterFunc(l.Duration, func() { stop.Store(true) })
	defer timer.Stop()
	workers := make([]*worker, l.Concurrency)
	seed := seedOf(l.Name)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wk := &worker{load: &l, addr: l.Addr, rng: rand.New(rand.NewPCG(seed, uint64(w))), status: map[int]int64{}, codes: map[string]int64{}}
		if len(l.Addrs) > 0 {
			wk.addr = l.Addrs[w%len(l.Addrs)]
		}
		workers[w] = wk
		wg.Go(func() {
			defer wk.close()
			for !stop.Load() && ctx.Err() == nil {
				i := issued.Add(1) - 1
				if i >= l.MaxRequests {
					return
				}
				if !l.pace(start, i, &stop) {
					return
				}
				wk.do(l.Next(wk.rng, i))
			}
		})
	}
	wg.Wait()
	st := merge(workers, time.Since(start))
	st.Concurrency, st.MaxRequests, st.TimeLimitSec, st.OfferedRate = l.Concurrency, l.MaxRequests, l.Duration.Seconds(), l.Rate
	st.Sent = st.Answered + st.TransportErrors
	if window := min(st.ElapsedSec, st.TimeLimitSec); window > 0 {
		st.SentPerSecond = float64(st.Sent) / window // the load's own window, without the wait for the last answers
	}
	st.StoppedBy = "time"
	if issued.Load() >= l.MaxRequests {
		st.StoppedBy = "requests"
	}
	return st
}

// pace waits until request i's send time (a paced load only) and reports
// whether the load is still running by then.
func (l *Load) pace(start time.Time, i int64, stop *atomic.Bool) bool {
	if l.Rate <= 0 {
		return true
	}
	at := start.Add(time.Duration(float64(i) / l.Rate * float64(time.Second)))
	if wait := time.Until(at); wait > 0 {
		if time.Until(start.Add(l.Duration)) < wait {
			return false // would be sent after the time limit
		}
		time.Sleep(wait) // rate pacing of the generator, not synchronisation
	}
	return !stop.Load()
}

func seedOf(name string) uint64 {
	h := fnv.New64a()
	_, _ = io.WriteString(h, name)
	return h.Sum64()
}

// worker owns one connection and its own tallies (merged at the end).
type worker struct {
	load      *Load
	addr      string
	rng       *rand.Rand
	conn      net.Conn
	br        *bufio.Reader
	wbuf      []byte
	body      bytes.Buffer
	latencies []time.Duration
	status    map[int]int64
	codes     map[string]int64
	errors    int64
}

func (w *worker) do(r Request) {
	if w.conn == nil {
		c, err := net.DialTimeout("tcp", w.addr, requestTimeout)
		if err != nil {
			w.errors++
			return
		}
		w.conn, w.br = c, bufio.NewReaderSize(c, 8<<10)
	}
	w.wbuf = appendRequest(w.wbuf[:0], w.addr, w.load.Path, r)
	begin := time.Now()
	_ = w.conn.SetDeadline(begin.Add(requestTimeout))
	if _, err := w.conn.Write(w.wbuf); err != nil {
		w.fail()
		return
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		w.fail()
		return
	}
	w.body.Reset()
	_, err = w.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		w.fail()
		return
	}
	w.latencies = append(w.latencies, time.Since(begin))
	w.status[resp.StatusCode]++
	if code := aadstsCode(w.body.Bytes()); code != "" {
		w.codes[code]++
	}
	if resp.Close {
		w.close()
	}
}

func (w *worker) fail() {
	w.errors++
	w.close()
}

func (w *worker) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// appendRequest writes an HTTP/1.1 keep-alive POST by hand: the generator
// shares the machine with the server, so it should cost as little as possible.
func appendRequest(b []byte, host, path string, r Request) []byte {
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(r.Body)), 10)
	if r.XFF != "" {
		b = append(b, "\r\nX-Forwarded-For: "...)
		b = append(b, r.XFF...)
	}
	if r.CorrelationID != "" {
		b = append(b, "\r\nclient-request-id: "...)
		b = append(b, r.CorrelationID...)
	}
	b = append(b, "\r\n\r\n"...)
	return append(b, r.Body...)
}

var errorCodesKey = []byte(`"error_codes":[`)

// aadstsCode returns "AADSTS<n>" for the first error code of an Entra error
// body, or "".
func aadstsCode(body []byte) string {
	i := bytes.Index(body, errorCodesKey)
	if i < 0 {
		return ""
	}
	rest := body[i+len(errorCodesKey):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 {
		return ""
	}
	return "AADSTS" + string(rest[:n])
}

func merge(workers []*worker, elapsed time.Duration) *Stats {
	st := &Stats{ElapsedSec: elapsed.Seconds(), Status: map[string]int64{}, Codes: map[string]int64{}}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.latencies...)
		st.TransportErrors += w.errors
		for s, n := range w.status {
			st.Status[strconv.Itoa(s)] += n
		}
		for c, n := range w.codes {
			st.Codes[c] += n
		}
	}
	slices.Sort(all)
	st.Answered = int64(len(all))
	if elapsed > 0 {
		st.PerSecond = float64(st.Answered) / elapsed.Seconds()
	}
	st.P50Ms, st.P90Ms, st.P99Ms = percentile(all, 50), percentile(all, 90), percentile(all, 99)
	if len(all) > 0 {
		st.MaxMs = ms(all[len(all)-1])
	}
	return st
}

// percentile is the nearest-rank percentile of sorted latencies, in ms.
func percentile(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return ms(sorted[max(rank, 1)-1])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Request building helpers, cheap enough to run per request.

// randomIPv4In10 returns a random address in 10.0.0.0/8.
func randomIPv4In10(rng *rand.Rand) string {
	v := rng.Uint32()
	b := make([]byte, 0, 15)
	b = append(b, "10."...)
	b = strconv.AppendUint(b, uint64(v>>16&0xff), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v>>8&0xff), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v&0xff), 10)
	return string(b)
}

// randomGUID returns a random version-4 GUID, as MSAL sends in client-request-id.
func randomGUID(rng *rand.Rand) string {
	const hexdigits = "0123456789abcdef"
	var raw [16]byte
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		raw[i], raw[8+i] = byte(hi>>(8*i)), byte(lo>>(8*i))
	}
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	out := make([]byte, 0, 36)
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&0x0f])
	}
	return string(out)
}
