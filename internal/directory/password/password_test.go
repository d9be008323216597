package password

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// testParams keep argon2id cheap so the suite stays fast on small CI boxes;
// the algorithm and encoding are identical at any cost.
var testParams = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func mustHash(t *testing.T, plain string, p Params) string {
	t.Helper()
	h, err := Hash(plain, p)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

func TestHashVerifyRoundTrip(t *testing.T) {
	for _, plain := range []string{"correct horse battery staple", "", "Ünïcödé-Pässwörd-42"} {
		h := mustHash(t, plain, testParams)
		ok, err := Verify(h, plain)
		if err != nil || !ok {
			t.Errorf("Verify(own hash of %q) = %v, %v; want true, nil", plain, ok, err)
		}
		ok, err = Verify(h, plain+"x")
		if err != nil || ok {
			t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	a := mustHash(t, "same", testParams)
	b := mustHash(t, "same", testParams)
	if a == b {
		t.Fatal("two hashes of the same password are identical; salt is not random")
	}
}

func TestHashPHCFormat(t *testing.T) {
	cases := []Params{testParams, {MemoryKiB: 256, Iterations: 3, Parallelism: 4}, DefaultParams()}
	for _, p := range cases {
		h := mustHash(t, "pw", p)
		m := phcRE.FindStringSubmatch(h)
		if m == nil {
			t.Fatalf("hash %q is not a canonical argon2id PHC string", h)
		}
		want := []uint64{uint64(p.MemoryKiB), uint64(p.Iterations), uint64(p.Parallelism)}
		for i, w := range want {
			if got, _ := strconv.ParseUint(m[i+1], 10, 32); got != w {
				t.Errorf("%s: field %d = %d, want %d", h, i, got, w)
			}
		}
		salt, err := base64.RawStdEncoding.DecodeString(m[4])
		if err != nil || len(salt) != SaltLen {
			t.Errorf("salt decodes to %d bytes (err %v), want %d", len(salt), err, SaltLen)
		}
		key, err := base64.RawStdEncoding.DecodeString(m[5])
		if err != nil || len(key) != KeyLen {
			t.Errorf("key decodes to %d bytes (err %v), want %d", len(key), err, KeyLen)
		}
	}
	if h := mustHash(t, "pw", DefaultParams()); !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("default hash %q has unexpected parameters", h)
	}
}

func TestHashRejectsInvalidParams(t *testing.T) {
	for _, p := range []Params{
		{MemoryKiB: 64, Iterations: 0, Parallelism: 1},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 0},
		{MemoryKiB: MaxMemoryKiB + 1, Iterations: 1, Parallelism: 1},
		{MemoryKiB: 8, Iterations: 1, Parallelism: 2},
	} {
		if _, err := Hash("pw", p); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("Hash with %+v: err = %v, want ErrInvalidParams", p, err)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	h := mustHash(t, "pw", testParams)
	if NeedsRehash(h, testParams) {
		t.Error("NeedsRehash with identical params = true")
	}
	for _, p := range []Params{
		{MemoryKiB: 128, Iterations: 1, Parallelism: 1},
		{MemoryKiB: 64, Iterations: 2, Parallelism: 1},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 2},
	} {
		if !NeedsRehash(h, p) {
			t.Errorf("NeedsRehash(%+v) = false for hash with %+v", p, testParams)
		}
	}
	// Same m/t/p but a 16-byte key must be upgraded to KeyLen.
	short := argonHash{memory: 64, iterations: 1, parallelism: 1,
		salt: make([]byte, SaltLen), key: make([]byte, 16)}
	if !NeedsRehash(short.String(), testParams) {
		t.Error("NeedsRehash ignored a non-default key length")
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if !NeedsRehash(string(bc), DefaultParams()) {
		t.Error("NeedsRehash(bcrypt) = false")
	}
	if !NeedsRehash("garbage", DefaultParams()) {
		t.Error("NeedsRehash(garbage) = false")
	}
}

func TestVerifyBcrypt(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("legacy-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	enc := string(bc)
	// x/crypto emits $2a$; other systems export $2b$ and $2y$ for the same hash.
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		h := prefix + enc[4:]
		if err := CheckHash(h); err != nil {
			t.Errorf("CheckHash(%s...) = %v", prefix, err)
		}
		if ok, err := Verify(h, "legacy-secret"); err != nil || !ok {
			t.Errorf("Verify(%s..., right) = %v, %v; want true, nil", prefix, ok, err)
		}
		if ok, err := Verify(h, "legacy-secreT"); err != nil || ok {
			t.Errorf("Verify(%s..., wrong) = %v, %v; want false, nil", prefix, ok, err)
		}
	}
}

func TestCheckHashAcceptsFreshHash(t *testing.T) {
	for _, p := range []Params{testParams, DefaultParams()} {
		if err := CheckHash(mustHash(t, "pw", p)); err != nil {
			t.Errorf("CheckHash(fresh %+v) = %v", p, err)
		}
	}
}

func TestCheckHashRejects(t *testing.T) {
	salt := b64.EncodeToString(make([]byte, SaltLen))
	key := b64.EncodeToString(make([]byte, KeyLen))
	argon := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcTail := string(bc)[7:]

	cases := []struct {
		name, enc string
		want      error
	}{
		{"huge memory", argon("m=99999999,t=1,p=1"), ErrUnsupportedHash},
		{"too many passes", argon("m=64,t=101,p=1"), ErrUnsupportedHash},
		{"zero passes", argon("m=64,t=0,p=1"), ErrUnsupportedHash},
		{"too many lanes", argon("m=65536,t=1,p=65"), ErrUnsupportedHash},
		{"zero lanes", argon("m=64,t=1,p=0"), ErrUnsupportedHash},
		{"memory below 8 KiB per lane", argon("m=8,t=1,p=2"), ErrUnsupportedHash},
		{"uint32 overflow", argon("m=4294967296,t=1,p=1"), ErrMalformedHash},
		{"reordered params", argon("t=1,m=64,p=1"), ErrMalformedHash},
		{"leading zero", argon("m=064,t=1,p=1"), ErrMalformedHash},
		{"negative", argon("m=-64,t=1,p=1"), ErrMalformedHash},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, ErrUnsupportedHash},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$" + b64.EncodeToString(make([]byte, 4)) + "$" + key, ErrUnsupportedHash},
		{"short key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + b64.EncodeToString(make([]byte, 8)), ErrUnsupportedHash},
		{"long key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + b64.EncodeToString(make([]byte, 65)), ErrUnsupportedHash},
		{"padded base64", argon("m=64,t=1,p=1") + "=", ErrMalformedHash},
		{"bad base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key, ErrMalformedHash},
		{"extra field", argon("m=64,t=1,p=1") + "$x", ErrMalformedHash},
		{"oversized", argon("m=64,t=1,p=1") + strings.Repeat("A", 600), ErrMalformedHash},
		{"garbage", "garbage", ErrUnsupportedHash},
		{"empty", "", ErrUnsupportedHash},
		{"pbkdf2", "$pbkdf2-sha256$29000$N2bs.Z9Pd5WjiH4vOb7Vpg$lK2nCKKR3dYrZ1YhxZBSlnKv1IyD.6rTXZ2S/Xwz9VE", ErrUnsupportedHash},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnsupportedHash},
		{"bcrypt $2x$", "$2x$04$" + bcTail, ErrUnsupportedHash},
		{"bcrypt cost too high", "$2b$20$" + bcTail, ErrUnsupportedHash},
		{"bcrypt cost 32", "$2b$32$" + bcTail, ErrMalformedHash},
		{"bcrypt cost 03", "$2b$03$" + bcTail, ErrMalformedHash},
		{"bcrypt signed cost", "$2b$+5$" + bcTail, ErrMalformedHash},
		{"bcrypt truncated", "$2b$04$" + bcTail[:40], ErrMalformedHash},
		{"bcrypt trailing junk", "$2b$04$" + bcTail + "x", ErrMalformedHash},
		{"bcrypt bad alphabet", "$2b$04$" + bcTail[:52] + "!", ErrMalformedHash},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckHash(tc.enc); !errors.Is(err, tc.want) {
				t.Errorf("CheckHash = %v, want %v", err, tc.want)
			}
			// Verify must refuse the same inputs instead of running them,
			// otherwise a stored hostile hash is still a DoS.
			ok, err := Verify(tc.enc, "pw")
			if ok || !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, %v; want false, %v", ok, err, tc.want)
			}
		})
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	h := mustHash(t, "pw", testParams)
	parsed, err := parseArgon2id(h)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.String() != h {
		t.Errorf("parse/String round trip changed %q into %q", h, parsed.String())
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h, err := Hash("correct horse battery staple", DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Verify(h, "correct horse battery staple"); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}

// BenchmarkVerifyDefaultParallel is the hashing ceiling on all cores: the
// figure the token endpoint's sign-ins per second are compared against.
func BenchmarkVerifyDefaultParallel(b *testing.B) {
	h, err := Hash("correct horse battery staple", DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := Verify(h, "correct horse battery staple"); !ok || err != nil {
				b.Errorf("Verify = %v, %v", ok, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}
