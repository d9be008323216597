package ipintel

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

const fireholSample = `#
# firehol_level1
# ipv4 hash:net ipset
#
# A firewall blacklist composed from IP lists, providing
# maximum protection with minimum false positives.
#
# Source URL: https://iplists.firehol.org/?ipset=firehol_level1
#
0.0.0.0/8
1.10.16.0/20
2.56.192.0/22
5.42.92.0/24
223.254.0.0/16
`

const dropSample = `; Spamhaus DROP List 2024/05/01 - (c) 2024 The Spamhaus Project SLU
; https://www.spamhaus.org/drop/drop.txt
; Last-Modified: Wed, 01 May 2024 12:00:00 GMT
; Expires: Wed, 01 May 2024 13:00:00 GMT
1.10.16.0/20 ; SBL256894
1.19.0.0/16 ; SBL434604
2.56.192.0/22 ; SBL459831
`

const edropSample = "; Spamhaus EDROP List\r\n27.126.160.0/20 ; SBL305843\r\n27.146.0.0/16 ; SBL326434\r\n"

const torExitAddresses = `ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E
Published 2024-05-01 11:28:02
LastStatus 2024-05-01 12:00:00
ExitAddress 162.247.74.201 2024-05-01 12:02:21
ExitNode 0091174DE56EADD4C9C9A1A4A5F8F6D5D9F3D3E1
Published 2024-05-01 03:53:31
LastStatus 2024-05-01 11:00:00
ExitAddress 185.220.101.22 2024-05-01 11:04:44
ExitAddress 2a0b:f4c2::22 2024-05-01 11:05:00
`

func TestParseListSamples(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      []netip.Prefix
		malformed int
	}{
		{"firehol", fireholSample, prefixes("0.0.0.0/8", "1.10.16.0/20", "2.56.192.0/22", "5.42.92.0/24", "223.254.0.0/16"), 0},
		{"spamhaus drop", dropSample, prefixes("1.10.16.0/20", "1.19.0.0/16", "2.56.192.0/22"), 0},
		{"spamhaus edrop crlf", edropSample, prefixes("27.126.160.0/20", "27.146.0.0/16"), 0},
		{"tor exit-addresses", torExitAddresses, prefixes("162.247.74.201/32", "185.220.101.22/32", "2a0b:f4c2::22/128"), 0},
		{"tor plain", "185.220.101.1\n185.220.101.2\n", prefixes("185.220.101.1/32", "185.220.101.2/32"), 0},
		{"ipv6", "2001:db8::/32\n2001:db8:1::1\n  2001:DB8:2::/48  # trailing\n", prefixes("2001:db8::/32", "2001:db8:1::1/128", "2001:db8:2::/48"), 0},
		{"masking", "10.1.2.3/8\n2001:db8::1/32\n", prefixes("10.0.0.0/8", "2001:db8::/32"), 0},
		{"mapped", "::ffff:192.0.2.1\n::ffff:192.0.2.0/120\n", prefixes("192.0.2.1/32", "192.0.2.0/24"), 0},
		{"garbage", "hello world\n<html>\n1.2.3.4.5\n300.1.1.1\n1.2.3.0/33\nfe80::1%eth0\n1.2.3.4 - 1.2.3.9\nExitAddress\n8.8.8.8\n", prefixes("8.8.8.8/32"), 8},
		{"blank and whitespace", "\n\n   \t\n\t 9.9.9.9 \t\n# only comment\n; other comment\n", prefixes("9.9.9.9/32"), 0},
		{"no final newline", "1.1.1.1\n2.2.2.2", prefixes("1.1.1.1/32", "2.2.2.2/32"), 0},
		{"empty", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ParseList(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseList: %v", err)
			}
			if !slices.Equal(res.Prefixes, tt.want) {
				t.Errorf("prefixes = %v, want %v", res.Prefixes, tt.want)
			}
			if res.MalformedCount != tt.malformed || len(res.Malformed) != tt.malformed {
				t.Errorf("malformed = %d (%d reported), want %d: %+v", res.MalformedCount, len(res.Malformed), tt.malformed, res.Malformed)
			}
			if want := strings.Count(tt.in, "\n") + boolInt(tt.in != "" && !strings.HasSuffix(tt.in, "\n")); res.Lines != want {
				t.Errorf("lines = %d, want %d", res.Lines, want)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestParseListLineErrors(t *testing.T) {
	in := "1.1.1.1\n" + strings.Repeat("x", 200) + "\n"
	res, err := ParseList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Malformed) != 1 {
		t.Fatalf("malformed = %+v", res.Malformed)
	}
	le := res.Malformed[0]
	if le.Line != 2 || len(le.Text) != 80 || le.Err == "" {
		t.Errorf("line error = %+v", le)
	}
}

func TestParseListCapsReportedErrors(t *testing.T) {
	in := strings.Repeat("bad\n", 250) + "1.2.3.4\n"
	res, err := ParseList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if res.MalformedCount != 250 || len(res.Malformed) != 100 || len(res.Prefixes) != 1 {
		t.Errorf("count=%d kept=%d prefixes=%d", res.MalformedCount, len(res.Malformed), len(res.Prefixes))
	}
}

func TestParseListLongLine(t *testing.T) {
	// A 1 MiB line is skipped as malformed without being buffered whole.
	in := io.MultiReader(strings.NewReader("1.1.1.1\n"),
		bytes.NewReader(bytes.Repeat([]byte("9"), 1<<20)),
		strings.NewReader("\n2.2.2.2\n"))
	res, err := ParseList(in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Prefixes, prefixes("1.1.1.1/32", "2.2.2.2/32")) {
		t.Errorf("prefixes = %v", res.Prefixes)
	}
	if res.MalformedCount != 1 || res.Malformed[0].Line != 2 || len(res.Malformed[0].Text) != 80 {
		t.Errorf("malformed = %+v", res.Malformed)
	}
	if res.Lines != 3 {
		t.Errorf("lines = %d", res.Lines)
	}
}

func TestParseListLimit(t *testing.T) {
	in := "1.1.1.1\n2.2.2.2\n"
	if _, err := ParseListLimit(strings.NewReader(in), int64(len(in))); err != nil {
		t.Fatalf("exactly at limit: %v", err)
	}
	_, err := ParseListLimit(strings.NewReader(in), int64(len(in)-1))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over limit: err = %v, want ErrTooLarge", err)
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseListReadError(t *testing.T) {
	if _, err := ParseList(io.MultiReader(strings.NewReader("1.1.1.1\n"), failReader{})); err == nil {
		t.Fatal("want read error")
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	s := truncate([]byte(strings.Repeat("é", 60)), 80)
	if len(s) > 80 || !strings.HasPrefix(s, "éé") || strings.Contains(s, "?") {
		t.Errorf("truncate = %q (%d bytes)", s, len(s))
	}
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{fireholSample, dropSample, edropSample, torExitAddresses,
		"::ffff:1.2.3.4/100\n", "1.2.3.4/0\n", "fe80::1%eth0\n", "\r\n\r\n", "ExitAddress ::1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseListLimit(bytes.NewReader(data), 1<<20)
		if err != nil {
			t.Fatalf("unexpected error on in-memory input: %v", err)
		}
		for _, p := range res.Prefixes {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("bad prefix %v from %q", p, data)
			}
		}
		if len(res.Malformed) > maxLineErrors || res.MalformedCount < len(res.Malformed) {
			t.Fatalf("malformed bookkeeping: %d kept, %d counted", len(res.Malformed), res.MalformedCount)
		}
		for _, le := range res.Malformed {
			if len(le.Text) > maxErrText || le.Line < 1 || le.Line > res.Lines {
				t.Fatalf("bad line error %+v (lines %d)", le, res.Lines)
			}
		}
	})
}
