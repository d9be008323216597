package password

import (
	"fmt"
	"strconv"
	"strings"
)

// argonHash is a decoded argon2id PHC string.
type argonHash struct {
	memory      uint32
	iterations  uint32
	parallelism uint8
	salt        []byte
	key         []byte
}

// argonVersion is the only argon2 version we emit or accept (0x13, the
// current RFC 9106 version); 1.0 hashes are not in circulation.
const argonVersion = 19

// String renders the canonical PHC form, which parseArgon2id round-trips.
func (h argonHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argonVersion, h.memory, h.iterations, h.parallelism,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parseArgon2id parses exactly the canonical form produced by String. The
// parser is deliberately strict (fixed parameter order, no optional keyid
// or data fields, no leading zeros) because accepting several spellings
// of the same hash buys nothing and widens the attack surface of imports.
// All safety limits are enforced here, so every caller gets them.
func parseArgon2id(encoded string) (argonHash, error) {
	var h argonHash
	if len(encoded) > maxEncodedLen {
		return h, fmt.Errorf("%w: argon2id hash longer than %d bytes", ErrMalformedHash, maxEncodedLen)
	}
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, fmt.Errorf("%w: argon2id hash must have 5 $-separated fields", ErrMalformedHash)
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return h, fmt.Errorf("%w: argon2id version field missing", ErrMalformedHash)
	}
	version, err := parseDecimal(v)
	if err != nil {
		return h, fmt.Errorf("%w: argon2id version: %w", ErrMalformedHash, err)
	}
	if version != argonVersion {
		return h, fmt.Errorf("%w: argon2id version %d", ErrUnsupportedHash, version)
	}
	m, t, p, err := parseArgonParams(parts[3])
	if err != nil {
		return h, err
	}
	if err := checkArgonParams(m, t, p); err != nil {
		return h, fmt.Errorf("%w: %w", ErrUnsupportedHash, err)
	}
	h.memory, h.iterations, h.parallelism = m, t, uint8(p)
	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return h, fmt.Errorf("%w: argon2id salt: %w", ErrMalformedHash, err)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil {
		return h, fmt.Errorf("%w: argon2id key: %w", ErrMalformedHash, err)
	}
	if len(h.salt) < MinSaltLen {
		return h, fmt.Errorf("%w: argon2id salt shorter than %d bytes", ErrUnsupportedHash, MinSaltLen)
	}
	if len(h.key) < MinKeyLen || len(h.key) > MaxKeyLen {
		return h, fmt.Errorf("%w: argon2id key length %d outside %d..%d", ErrUnsupportedHash, len(h.key), MinKeyLen, MaxKeyLen)
	}
	return h, nil
}

// parseArgonParams parses "m=<kib>,t=<passes>,p=<lanes>" in that order.
func parseArgonParams(s string) (m, t, p uint32, err error) {
	fields := strings.Split(s, ",")
	names := [3]string{"m", "t", "p"}
	var vals [3]uint32
	if len(fields) != len(names) {
		return 0, 0, 0, fmt.Errorf("%w: argon2id parameters must be m=,t=,p=", ErrMalformedHash)
	}
	for i, f := range fields {
		num, ok := strings.CutPrefix(f, names[i]+"=")
		if !ok {
			return 0, 0, 0, fmt.Errorf("%w: argon2id parameter %d must be %s=", ErrMalformedHash, i+1, names[i])
		}
		if vals[i], err = parseDecimal(num); err != nil {
			return 0, 0, 0, fmt.Errorf("%w: argon2id parameter %s: %w", ErrMalformedHash, names[i], err)
		}
	}
	return vals[0], vals[1], vals[2], nil
}

// parseDecimal accepts only canonical unsigned decimals ("0" or no leading
// zero); strconv alone would also accept "007".
func parseDecimal(s string) (uint32, error) {
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("leading zero in %q", s)
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("parse number: %w", err)
	}
	return uint32(n), nil
}

// checkArgonParams enforces the safety limits. The lower bounds matter as
// much as the upper ones: argon2id.Key panics on zero passes or lanes, and
// RFC 9106 requires at least 8 KiB of memory per lane.
func checkArgonParams(m, t, p uint32) error {
	switch {
	case t < 1 || t > MaxIterations:
		return fmt.Errorf("iterations %d outside 1..%d", t, MaxIterations)
	case p < 1 || p > MaxParallelism:
		return fmt.Errorf("parallelism %d outside 1..%d", p, MaxParallelism)
	case m > MaxMemoryKiB:
		return fmt.Errorf("memory %d KiB exceeds %d KiB", m, MaxMemoryKiB)
	case m < 8*p:
		return fmt.Errorf("memory %d KiB below 8 KiB per lane", m)
	}
	return nil
}
