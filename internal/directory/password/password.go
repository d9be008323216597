// Package password implements argon2id PHC hashing, legacy bcrypt
// verification for migration, and the password policy.
//
// New hashes are always argon2id in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$key). Bcrypt hashes ($2a$, $2b$,
// $2y$) are accepted by Verify only so that users imported from other
// systems can sign in once and be transparently rehashed; NeedsRehash
// reports true for them.
//
// Every hash that reaches Verify is first checked against the same safety
// limits as CheckHash, because a hash is attacker-influenced data when it
// comes from a bulk import: without limits a single crafted record could
// make one sign-in attempt allocate gigabytes or burn CPU for hours.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-idp/portcullis/internal/argon2id"
	"golang.org/x/crypto/bcrypt"
)

// Sentinel errors. Errors returned by this package wrap one of them, so
// callers should test with errors.Is.
var (
	// ErrUnsupportedHash means the hash uses a scheme, version or parameter
	// set this package refuses to handle (including parameters outside the
	// safety limits).
	ErrUnsupportedHash = errors.New("password: unsupported hash")
	// ErrMalformedHash means the hash claims a supported scheme but cannot
	// be parsed.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrInvalidParams means Hash was called with parameters outside the
	// safety limits (for example zero iterations, which argon2 would panic on).
	ErrInvalidParams = errors.New("password: invalid argon2id parameters")
)

const (
	// SaltLen and KeyLen are the sizes used for new hashes. 16-byte salts
	// and 32-byte keys are the RFC 9106 recommendations.
	SaltLen = 16
	KeyLen  = 32

	// Safety limits applied to any argon2id hash we parse. They are far
	// above anything a sane deployment uses but bound the worst case of a
	// hostile import: 4 GiB of memory, 100 passes, 64 lanes.
	MaxMemoryKiB   = 4 * 1024 * 1024
	MaxIterations  = 100
	MaxParallelism = 64
	MinSaltLen     = 8
	MinKeyLen      = 16
	MaxKeyLen      = 64

	// MaxBcryptCost bounds imported bcrypt hashes. bcrypt.MaxCost (31) would
	// mean 2^31 key expansions, i.e. more than a day of CPU per sign-in,
	// which is a denial of service rather than a security setting. Real
	// deployments use 10 to 14.
	MaxBcryptCost = 16

	// maxEncodedLen bounds the input to the parsers; the longest hash we
	// accept (64-byte salt and key, maximal parameters) is well under it.
	maxEncodedLen = 512

	argon2Prefix = "$argon2id$"
)

// Params are the argon2id cost parameters. Salt and key lengths are fixed
// at SaltLen and KeyLen for new hashes.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// DefaultParams returns the OWASP-recommended argon2id configuration
// (19 MiB, 2 passes, 1 lane), which keeps a verification around tens of
// milliseconds on modest hardware while remaining memory-hard.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}
}

// Hash derives an argon2id hash of plain with a fresh random salt and
// returns it as a PHC string.
func Hash(plain string, p Params) (string, error) {
	if err := checkArgonParams(p.MemoryKiB, p.Iterations, uint32(p.Parallelism)); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2id.Key([]byte(plain), salt, p.Iterations, p.MemoryKiB, p.Parallelism, KeyLen)
	h := argonHash{
		memory: p.MemoryKiB, iterations: p.Iterations, parallelism: p.Parallelism,
		salt: salt, key: key,
	}
	return h.String(), nil
}

// Verify reports whether plain matches encoded, which may be an argon2id
// PHC string or a bcrypt hash. A mismatch is (false, nil); an error is
// returned only when encoded cannot be used at all, so callers can tell a
// wrong password from a broken or hostile stored hash.
func Verify(encoded, plain string) (bool, error) {
	switch {
	case strings.HasPrefix(encoded, argon2Prefix):
		h, err := parseArgon2id(encoded)
		if err != nil {
			return false, err
		}
		got := argon2id.Key([]byte(plain), h.salt, h.iterations, h.memory, h.parallelism, uint32(len(h.key)))
		return subtle.ConstantTimeCompare(got, h.key) == 1, nil
	case isBcrypt(encoded):
		if err := checkBcrypt(encoded); err != nil {
			return false, err
		}
		// CompareHashAndPassword already compares in constant time.
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(plain))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, fmt.Errorf("%w: bcrypt: %w", ErrMalformedHash, err)
		}
	default:
		return false, unsupportedScheme(encoded)
	}
}

// NeedsRehash reports whether encoded should be replaced by a fresh Hash
// with p after a successful Verify: always for bcrypt, and for argon2id
// whenever the cost parameters, key length or salt length differ from what
// Hash would produce now. Unparsable hashes also report true, since they
// can never be right.
func NeedsRehash(encoded string, p Params) bool {
	if !strings.HasPrefix(encoded, argon2Prefix) {
		return true
	}
	h, err := parseArgon2id(encoded)
	if err != nil {
		return true
	}
	return h.memory != p.MemoryKiB ||
		h.iterations != p.Iterations ||
		h.parallelism != p.Parallelism ||
		len(h.key) != KeyLen ||
		len(h.salt) < SaltLen
}

// CheckHash validates a hash supplied by an administrator or an import job
// before it is stored: the scheme must be supported, the string well
// formed, and the cost parameters within the safety limits, so that a
// hostile import cannot turn later verification into a denial of service.
func CheckHash(encoded string) error {
	switch {
	case strings.HasPrefix(encoded, argon2Prefix):
		_, err := parseArgon2id(encoded)
		return err
	case isBcrypt(encoded):
		return checkBcrypt(encoded)
	default:
		return unsupportedScheme(encoded)
	}
}

// unsupportedScheme names the scheme identifier (never the rest of the
// string, which contains hash material) in the error.
func unsupportedScheme(encoded string) error {
	if !strings.HasPrefix(encoded, "$") {
		return fmt.Errorf("%w: not a PHC or modular-crypt string", ErrUnsupportedHash)
	}
	id, _, _ := strings.Cut(encoded[1:], "$")
	if len(id) > 16 || !isSchemeID(id) {
		return fmt.Errorf("%w: unrecognised scheme", ErrUnsupportedHash)
	}
	return fmt.Errorf("%w: scheme %q", ErrUnsupportedHash, id)
}

func isSchemeID(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}

// isBcrypt recognises the bcrypt variants that are bit-compatible for the
// passwords we handle: 2a, 2b and 2y differ only in historical bug fixes
// of other implementations. Other minors ($2$, $2x$) are refused.
func isBcrypt(encoded string) bool {
	return strings.HasPrefix(encoded, "$2a$") ||
		strings.HasPrefix(encoded, "$2b$") ||
		strings.HasPrefix(encoded, "$2y$")
}

// checkBcrypt validates the exact bcrypt layout ($2x$NN$ + 53 chars of the
// bcrypt alphabet) because the x/crypto parser is lenient about trailing
// garbage, then bounds the cost.
func checkBcrypt(encoded string) error {
	const bcryptLen = 60
	if len(encoded) != bcryptLen || !isDigit(encoded[4]) || !isDigit(encoded[5]) || encoded[6] != '$' {
		return fmt.Errorf("%w: bcrypt hash must be %d characters", ErrMalformedHash, bcryptLen)
	}
	for i := 7; i < len(encoded); i++ {
		if !isBcryptB64(encoded[i]) {
			return fmt.Errorf("%w: bcrypt hash has invalid characters", ErrMalformedHash)
		}
	}
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return fmt.Errorf("%w: bcrypt: %w", ErrMalformedHash, err)
	}
	if cost > MaxBcryptCost {
		return fmt.Errorf("%w: bcrypt cost %d exceeds %d", ErrUnsupportedHash, cost, MaxBcryptCost)
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isBcryptB64(c byte) bool {
	return c == '.' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// b64 is the PHC encoding: standard alphabet, no padding. Strict rejects
// non-zero trailing bits so each hash has exactly one valid spelling.
var b64 = base64.RawStdEncoding.Strict()
