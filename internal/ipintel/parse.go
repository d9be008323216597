package ipintel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"
)

const (
	// DefaultMaxBytes bounds a whole list. The largest public lists are a
	// few MiB; anything far beyond that is a misconfiguration or an attack
	// on our memory.
	DefaultMaxBytes = 64 << 20
	// MaxLineLength bounds one line. A list line is an address plus an
	// optional comment; longer lines are reported as malformed and skipped
	// without ever being held in memory in full.
	MaxLineLength = 4096
	// maxLineErrors bounds ParseResult.Malformed so a garbage body cannot
	// turn into a garbage-sized error report.
	maxLineErrors = 100
	// maxErrText is how much of a bad line is kept for the operator.
	maxErrText = 80
)

// ErrTooLarge is returned (wrapped) when a list exceeds its byte limit.
var ErrTooLarge = errors.New("list exceeds size limit")

// LineError describes one line that could not be parsed.
type LineError struct {
	Line int    `json:"line"`
	Text string `json:"text"` // at most 80 bytes of the line
	Err  string `json:"error"`
}

// ParseResult is what a list yielded.
type ParseResult struct {
	Prefixes []netip.Prefix
	// Lines counts every line read, including comments and blank lines.
	Lines int
	// Malformed holds the first 100 malformed lines.
	Malformed []LineError
	// MalformedCount counts all malformed lines, including those beyond
	// the first 100.
	MalformedCount int
}

// ParseList parses a block list with the default size limit. See
// [ParseListLimit].
func ParseList(r io.Reader) (ParseResult, error) {
	return ParseListLimit(r, DefaultMaxBytes)
}

// ParseListLimit parses a list of one IP address or CIDR prefix per line,
// reading at most maxBytes (<= 0 means DefaultMaxBytes).
//
// It accepts the formats threat feeds are published in: `#` and `;`
// comments, full-line or trailing (Spamhaus DROP's "1.10.16.0/20 ;
// SBL256894"); blank lines; surrounding whitespace and CRLF; FireHOL
// netsets; plain Tor exit lists and the Tor exit-addresses format, whose
// "ExitAddress <ip> <date>" lines are used and whose other records are
// ignored. Single addresses become /32 or /128, host bits are masked, and
// IPv4-mapped IPv6 is unmapped.
//
// Malformed lines are recorded, never fatal: one bad line in a vendor's
// file must not cost us the other hundred thousand. The error is only for
// read failures and for exceeding maxBytes (wrapping [ErrTooLarge]).
func ParseListLimit(r io.Reader, maxBytes int64) (ParseResult, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	var res ParseResult
	br := bufio.NewReaderSize(&capReader{r: r, left: maxBytes}, MaxLineLength)
	for {
		line, tooLong, err := readLine(br)
		if len(line) > 0 || tooLong || err == nil {
			res.Lines++
			res.addLine(line, tooLong)
		}
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("read list line %d: %w", res.Lines, err)
		}
	}
}

// readLine returns the next line without its terminator. A line longer than
// the reader's buffer is consumed and discarded; its first bytes are
// returned with tooLong set so it can still be reported.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Copy the head for the report: ReadSlice's buffer is reused.
		head := bytes.Clone(line[:maxErrText])
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		return head, true, err
	}
	return bytes.TrimSuffix(line, []byte{'\n'}), false, err
}

func (res *ParseResult) addLine(raw []byte, tooLong bool) {
	if tooLong {
		res.malformed(raw, "line longer than 4096 bytes")
		return
	}
	p, ok, msg := parseLine(raw)
	switch {
	case msg != "":
		res.malformed(raw, msg)
	case ok:
		res.Prefixes = append(res.Prefixes, p)
	}
}

func (res *ParseResult) malformed(raw []byte, msg string) {
	res.MalformedCount++
	if len(res.Malformed) >= maxLineErrors {
		return
	}
	res.Malformed = append(res.Malformed, LineError{
		Line: res.Lines,
		Text: truncate(bytes.TrimSpace(raw), maxErrText),
		Err:  msg,
	})
}

// torKeywords are the records of the Tor exit-addresses file that carry no
// address; they are skipped, not counted as malformed, or a well-formed
// Tor file would look three-quarters broken.
var torKeywords = map[string]bool{"ExitNode": true, "Published": true, "LastStatus": true}

// parseLine returns the prefix on a line, ok=false for a line without one
// (comment, blank, Tor metadata), or a non-empty msg for a malformed line.
func parseLine(raw []byte) (p netip.Prefix, ok bool, msg string) {
	if i := bytes.IndexAny(raw, "#;"); i >= 0 {
		raw = raw[:i]
	}
	fields := bytes.Fields(raw)
	if len(fields) == 0 {
		return netip.Prefix{}, false, ""
	}
	tok := fields[0]
	switch {
	case string(tok) == "ExitAddress":
		if len(fields) < 2 {
			return netip.Prefix{}, false, "ExitAddress without address"
		}
		tok = fields[1]
	case torKeywords[string(tok)]:
		return netip.Prefix{}, false, ""
	case len(fields) > 1:
		// Refuse rather than guess: "a - b" ranges or "ip score" columns
		// would silently lose meaning if we took the first field.
		return netip.Prefix{}, false, "more than one field"
	}
	p, err := parseToken(string(tok))
	if err != nil {
		return netip.Prefix{}, false, err.Error()
	}
	return p, true, ""
}

func parseToken(tok string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.IndexByte(tok, '/') >= 0 {
		var err error
		if p, err = netip.ParsePrefix(tok); err != nil {
			return netip.Prefix{}, errors.New("invalid CIDR prefix")
		}
	} else {
		a, err := netip.ParseAddr(tok)
		if err != nil {
			return netip.Prefix{}, errors.New("invalid IP address")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("IPv6 zone not allowed")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p, ok := normalizePrefix(p)
	if !ok {
		return netip.Prefix{}, errors.New("invalid prefix")
	}
	return p, nil
}

// truncate cuts b to at most n bytes on a rune boundary and makes it valid
// UTF-8, because it ends up in JSON status output and logs.
func truncate(b []byte, n int) string {
	if len(b) > n {
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	// "?" rather than U+FFFD so the result never grows past n bytes.
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// capReader reads at most left bytes from r and fails with ErrTooLarge if
// r has more, instead of silently truncating the list.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
