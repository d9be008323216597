package argon2id

import (
	"bytes"
	"fmt"
	"testing"

	"golang.org/x/crypto/argon2"
)

// TestKeyMatchesXCrypto compares Key with x/crypto's IDKey over lanes,
// passes, memory sizes and key lengths, in an order that hands each call a
// pooled working area left dirty by a different, larger or smaller, hash.
func TestKeyMatchesXCrypto(t *testing.T) {
	cases := []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{2, 19456, 1, 32}, {1, 64, 1, 16}, {3, 256, 4, 64}, {2, 19456, 1, 32},
		{1, 8, 1, 32}, {2, 4096, 2, 32}, {4, 1000, 3, 100}, {2, 19456, 1, 32},
		{1, 33, 8, 32}, {2, 2048, 1, 200},
	}
	for round := range 2 { // the second round reuses memory from the first
		for _, c := range cases {
			name := fmt.Sprintf("round%d/t=%d,m=%d,p=%d,len=%d", round, c.time, c.memory, c.threads, c.keyLen)
			pw, salt := []byte("correct horse "+name), []byte("somesalt-"+name)
			want := argon2.IDKey(pw, salt, c.time, c.memory, c.threads, c.keyLen)
			if got := Key(pw, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
				t.Fatalf("%s: Key = %x, x/crypto = %x", name, got, want)
			}
		}
	}
}

// TestKeyKnownAnswer checks the reference implementation's Argon2id v1.3
// test vector (phc-winner-argon2's test.c: "password", "somesalt", t=2,
// m=2^16, p=1), which guards against Key and x/crypto drifting together.
func TestKeyKnownAnswer(t *testing.T) {
	got := Key([]byte("password"), []byte("somesalt"), 2, 65536, 1, 32)
	const want = "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"
	if fmt.Sprintf("%x", got) != want {
		t.Fatalf("Key = %x, want %s", got, want)
	}
}

// TestKeyWithoutSSE4 runs the portable rounds that amd64 machines without
// SSE4.1 use (elsewhere it repeats the comparison).
func TestKeyWithoutSSE4(t *testing.T) {
	defer func(saved bool) { useSSE4 = saved }(useSSE4)
	useSSE4 = false
	pw, salt := []byte("password"), []byte("somesalt")
	if got, want := Key(pw, salt, 2, 256, 2, 32), argon2.IDKey(pw, salt, 2, 256, 2, 32); !bytes.Equal(got, want) {
		t.Fatalf("Key without SSE4.1 = %x, x/crypto = %x", got, want)
	}
}

func TestKeyPanicsOnZeroCost(t *testing.T) {
	for _, f := range []func(){
		func() { Key(nil, nil, 0, 64, 1, 32) },
		func() { Key(nil, nil, 1, 64, 0, 32) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		}()
	}
}

func FuzzKey(f *testing.F) {
	f.Add([]byte("pw"), []byte("saltsalt"), uint8(1), uint16(64), uint8(1), uint8(32))
	f.Fuzz(func(t *testing.T, pw, salt []byte, time uint8, memory uint16, threads, keyLen uint8) {
		tm, th := uint32(time%3)+1, threads%4+1
		m := uint32(memory % 2048)
		kl := uint32(keyLen%128) + 4
		want := argon2.IDKey(pw, salt, tm, m, th, kl)
		if got := Key(pw, salt, tm, m, th, kl); !bytes.Equal(got, want) {
			t.Fatalf("t=%d m=%d p=%d len=%d: Key = %x, x/crypto = %x", tm, m, th, kl, got, want)
		}
	})
}

// BenchmarkKey compares the pooled Key with x/crypto at the default
// password-hashing parameters (19 MiB, 2 passes, 1 lane).
func BenchmarkKey(b *testing.B) {
	pw, salt := []byte("password"), []byte("somesalt12345678")
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Key(pw, salt, 2, 19456, 1, 32)
		}
	})
	b.Run("x-crypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			argon2.IDKey(pw, salt, 2, 19456, 1, 32)
		}
	})
	// All cores at once, as the hash pool runs: here x/crypto's allocations
	// also cost garbage collections.
	b.Run("pooled-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				Key(pw, salt, 2, 19456, 1, 32)
			}
		})
	})
	b.Run("x-crypto-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				argon2.IDKey(pw, salt, 2, 19456, 1, 32)
			}
		})
	})
}
