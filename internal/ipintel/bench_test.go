package ipintel

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const benchPrefixes = 2_000_000

var benchData = sync.OnceValue(func() []Entry[uint32] {
	return genEntries(rand.New(rand.NewPCG(1, 2)), benchPrefixes)
})

// genEntries returns n random prefixes, half IPv4 /24-/32 and half IPv6
// /32-/64, the shapes threat feeds actually publish; values cycle through
// 8 "feeds".
func genEntries(r *rand.Rand, n int) []Entry[uint32] {
	out := make([]Entry[uint32], n)
	for i := range out {
		var p netip.Prefix
		if i%2 == 0 {
			var a [4]byte
			putUint(a[:], r.Uint64())
			p = netip.PrefixFrom(netip.AddrFrom4(a), 24+r.IntN(9))
		} else {
			var a [16]byte
			putUint(a[:8], r.Uint64())
			putUint(a[8:], r.Uint64())
			a[0] = 0x20 | a[0]&0x1f // global unicast 2000::/3, as in real lists
			p = netip.PrefixFrom(netip.AddrFrom16(a), 32+r.IntN(33))
		}
		out[i] = Entry[uint32]{Prefix: p.Masked(), Value: uint32(i % 8)}
	}
	return out
}

func putUint(b []byte, v uint64) {
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
}

// genHits returns n addresses each inside a random stored prefix: the
// worst case, where every lookup walks the trie to a leaf in cold memory.
func genHits(r *rand.Rand, entries []Entry[uint32], n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		p := entries[r.IntN(len(entries))].Prefix
		b := p.Addr().AsSlice()
		for j := range b {
			switch free := (j+1)*8 - p.Bits(); {
			case free <= 0: // all network bits: keep
			case free >= 8: // all host bits: randomise
				b[j] = byte(r.Uint32())
			default:
				keep := byte(0xff << free)
				b[j] = b[j]&keep | byte(r.Uint32())&^keep
			}
		}
		out[i], _ = netip.AddrFromSlice(b)
	}
	return out
}

// genRandom returns n uniformly random addresses, half IPv4 and half in
// 2000::/3: what arbitrary sign-in traffic looks like, mostly misses.
func genRandom(r *rand.Rand, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		if i%2 == 0 {
			var a [4]byte
			putUint(a[:], r.Uint64())
			out[i] = netip.AddrFrom4(a)
			continue
		}
		var a [16]byte
		putUint(a[:8], r.Uint64())
		putUint(a[8:], r.Uint64())
		a[0] = 0x20 | a[0]&0x1f
		out[i] = netip.AddrFrom16(a)
	}
	return out
}

// heapInUse forces a collection and returns live heap bytes, so deltas
// measure what a structure retains rather than garbage.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBuild2M measures building a 2M-prefix snapshot, off the hot
// path, and the heap the finished snapshot retains. Targets: < 3 s, < 200 MiB.
func BenchmarkBuild2M(b *testing.B) {
	entries := benchData()
	var secs, mib float64
	var set *PrefixSet[uint32]
	for b.Loop() {
		set = nil
		before := heapInUse()
		start := time.Now()
		set = NewPrefixSet(entries)
		secs = time.Since(start).Seconds()
		mib = float64(heapInUse()-before) / (1 << 20)
	}
	b.ReportMetric(secs, "s/build")
	b.ReportMetric(mib, "heap-MiB")
	b.ReportMetric(float64(set.Len()), "prefixes")
	runtime.KeepAlive(set)
}

var benchSet = sync.OnceValue(func() *PrefixSet[uint32] { return NewPrefixSet(benchData()) })

const lookupBatch = 1 << 16

var benchSetSmall = sync.OnceValue(func() *PrefixSet[uint32] {
	return NewPrefixSet(benchData()[:realisticPrefixes])
})

// realisticPrefixes is roughly FireHOL level1+2, Spamhaus DROP/EDROP and
// the Tor exit list together; such a set largely fits in CPU caches.
const realisticPrefixes = 150_000

// BenchmarkLookup times lookups over the 2M set (and, for comparison, a
// realistic 150k set), for uniformly random addresses and for addresses
// known to be listed. Each op is a batch of 65536 lookups so that even
// -benchtime 1x yields a stable per-lookup figure, reported as ns/lookup
// and allocs/lookup.
func BenchmarkLookup(b *testing.B) {
	for _, size := range []struct {
		name string
		set  func() *PrefixSet[uint32]
		n    int
	}{{"2M", benchSet, benchPrefixes}, {"150k", benchSetSmall, realisticPrefixes}} {
		set := size.set()
		inputs := []struct {
			name  string
			addrs []netip.Addr
		}{
			{"random", genRandom(rand.New(rand.NewPCG(3, 4)), lookupBatch)},
			{"listed", genHits(rand.New(rand.NewPCG(5, 6)), benchData()[:size.n], lookupBatch)},
		}
		for _, in := range inputs {
			b.Run(size.name+"/Contains/"+in.name, func(b *testing.B) {
				benchBatch(b, in.addrs, func(a netip.Addr) int {
					if set.Contains(a) {
						return 1
					}
					return 0
				})
			})
			b.Run(size.name+"/Lookup/"+in.name, func(b *testing.B) {
				benchBatch(b, in.addrs, func(a netip.Addr) int { return len(set.Lookup(a)) })
			})
			b.Run(size.name+"/AppendLookup/"+in.name, func(b *testing.B) {
				var buf []uint32
				benchBatch(b, in.addrs, func(a netip.Addr) int { buf = set.AppendLookup(buf[:0], a); return len(buf) })
			})
		}
	}
}

func benchBatch(b *testing.B, addrs []netip.Addr, fn func(netip.Addr) int) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	matched, batches := 0, 0
	start := time.Now()
	for b.Loop() {
		for _, a := range addrs {
			matched += fn(a)
		}
		batches++
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	n := float64(batches * len(addrs))
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/lookup")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/lookup")
	b.ReportMetric(float64(matched)/n, "matches/lookup")
}

// BenchmarkLookupDuringSwap measures lookup latency percentiles with and
// without a concurrent rebuild-and-swap of the 2M snapshot, to show that
// readers never wait for the refresher.
func BenchmarkLookupDuringSwap(b *testing.B) {
	entries := benchData()
	// Mixed traffic: half listed, half random.
	addrs := genRandom(rand.New(rand.NewPCG(7, 8)), lookupBatch)
	for i, a := range genHits(rand.New(rand.NewPCG(9, 10)), entries, lookupBatch/2) {
		addrs[2*i] = a
	}
	var cur atomic.Pointer[PrefixSet[uint32]]
	cur.Store(benchSet())
	for b.Loop() {
		base := measureLookups(&cur, addrs, func() { time.Sleep(time.Second) })
		var swaps int
		swap := measureLookups(&cur, addrs, func() {
			for range 2 {
				cur.Store(NewPrefixSet(entries))
				swaps++
			}
		})
		b.ReportMetric(base.p50, "p50-ns-baseline")
		b.ReportMetric(base.p99, "p99-ns-baseline")
		b.ReportMetric(swap.p50, "p50-ns-swap")
		b.ReportMetric(swap.p99, "p99-ns-swap")
		b.ReportMetric(swap.max/1e3, "max-µs-swap")
		b.ReportMetric(float64(swaps), "swaps")
	}
}

type latencies struct{ p50, p99, max float64 }

// measureLookups runs readers on all CPUs but one (left for the
// refresher, as in production), timing each lookup, until background
// returns. Samples are capped per reader to bound memory.
func measureLookups(cur *atomic.Pointer[PrefixSet[uint32]], addrs []netip.Addr, background func()) latencies {
	const maxSamples = 1 << 21
	readers := max(1, runtime.GOMAXPROCS(0)-1)
	var stop atomic.Bool
	samples := make([][]uint32, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			buf := make([]uint32, 0, maxSamples)
			for i := r; !stop.Load() && len(buf) < maxSamples; i++ {
				a := addrs[i%len(addrs)]
				t0 := time.Now()
				_ = cur.Load().Lookup(a)
				buf = append(buf, uint32(min(time.Since(t0).Nanoseconds(), 1<<32-1)))
			}
			samples[r] = buf
		})
	}
	background()
	stop.Store(true)
	wg.Wait()
	all := slices.Concat(samples...)
	slices.Sort(all)
	if len(all) == 0 {
		return latencies{}
	}
	at := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) }
	return latencies{p50: at(0.50), p99: at(0.99), max: float64(all[len(all)-1])}
}
