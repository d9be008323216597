package ipintel

// The lookup tables. Both families map an address to the disjoint interval
// containing it in at most two cold cache lines: IPv4 through a direct index
// on the top 16 bits (256 KiB, which stays cached) into per-/16 runs of
// 16-bit interval starts; IPv6 through an open-addressing hash of the /32s
// that hold interval boundaries, whose few intervals sit next to their
// keys. An IPv6 /32 without boundaries is covered only by prefixes shorter
// than /32, which a small IPv4-style table over the top 32 bits answers.

// rec is what an interval resolves to: its most specific prefix, inlined
// so the common single-match lookup needs no further memory access.
type rec[V any] struct {
	v      V     // value of node (its first value)
	node   int32 // most specific covering prefix, -1 if none
	bits   uint8 // length of node's prefix
	simple bool  // node has one value and no containing prefix
}

// node is one distinct prefix: its first value, its other values in
// PrefixSet.more[dup:next node's dup], and its closest containing prefix.
type node[V any] struct {
	v      V
	parent int32
	dup    uint32
	bits   uint8
}

func makeRec[V any](nodes []node[V], n int32) rec[V] {
	if n < 0 {
		return rec[V]{node: -1}
	}
	nd := &nodes[n]
	simple := nd.parent < 0 && nodes[n+1].dup == nd.dup
	return rec[V]{v: nd.v, node: n, bits: nd.bits, simple: simple}
}

// table4 indexes intervals over a 32-bit space: the intervals starting in
// block b (the top 16 bits) are keys[first[b]:first[b+1]], holding the low
// 16 bits of each start; an address before all of them is in the interval
// first[b]-1, which started in an earlier block.
type table4[V any] struct {
	first   []uint32 // 1<<16 + 1 entries
	keys    []uint16
	recs    []rec[V]
	covered bitset // interval i has a prefix: answers Contains without recs
}

// bitset is a fixed-size set of small integers.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

func newTable4[V any](ivs []interval, nodes []node[V]) *table4[V] {
	t := &table4[V]{first: make([]uint32, 1<<16+1), keys: make([]uint16, len(ivs)),
		recs: make([]rec[V], len(ivs)), covered: newBitset(len(ivs))}
	b := 0
	for i, iv := range ivs {
		start := uint32(iv.start.lo)
		for ; b <= int(start>>16); b++ {
			t.first[b] = uint32(i)
		}
		t.keys[i] = uint16(start)
		t.recs[i] = makeRec(nodes, iv.node)
		if iv.node >= 0 {
			t.covered.set(i)
		}
	}
	for ; b <= 1<<16; b++ {
		t.first[b] = uint32(len(ivs))
	}
	return t
}

// index returns the index of the interval containing a.
func (t *table4[V]) index(a uint32) int {
	lo, hi := t.first[a>>16], t.first[a>>16+1]
	return search16(t.keys[lo:hi], uint16(a)) + int(lo)
}

// find returns the record of a's interval, or nil if no prefix covers a;
// checking the bitmap first keeps misses out of recs.
func (t *table4[V]) find(a uint32) *rec[V] {
	if i := t.index(a); t.covered.has(i) {
		return &t.recs[i]
	}
	return nil
}

func (t *table4[V]) contains(a uint32) bool { return t.covered.has(t.index(a)) }

// search16 returns the index of the last key <= x, or -1; keys are sorted.
func search16(keys []uint16, x uint16) int {
	base, n := 0, len(keys)
	if n == 0 || keys[0] > x {
		return -1
	}
	for n > 1 {
		half := n / 2
		if keys[base+half] <= x {
			base += half
		}
		n -= half
	}
	return base
}

// iv6 is an IPv6 interval: the low 96 bits of its start and what it maps to.
type iv6[V any] struct {
	lo  uint64
	mid uint32
	rec rec[V]
}

// slot6 locates the intervals starting in one /32, ivs[first:first+n], and
// caches one prefix of that /32 whose whole range is a single interval
// (fast.node >= 0): an address inside it resolves from the slot alone.
type slot6[V any] struct {
	key, first, n uint32 // n == 0 marks an empty slot
	mid           uint32 // start of the cached prefix, below the top 32 bits
	lo            uint64
	fast          rec[V]
}

type table6[V any] struct {
	slots   []slot6[V] // open addressing, linear probing
	ivs     []iv6[V]
	covered bitset
	shorts  *table4[V] // prefixes shorter than /32, keyed on the top 32 bits; may be nil
}

// home maps a /32 to its preferred slot among n.
func home(k uint32, n int) int { return int(uint64(k*0x9E3779B1) * uint64(n) >> 32) }

func newTable6[V any](ivs []interval, nodes []node[V], shorts []span) *table6[V] {
	t := &table6[V]{ivs: make([]iv6[V], len(ivs)), covered: newBitset(len(ivs))}
	buckets := 0
	for i, iv := range ivs {
		t.ivs[i] = iv6[V]{lo: iv.start.lo, mid: uint32(iv.start.hi), rec: makeRec(nodes, iv.node)}
		if iv.node >= 0 {
			t.covered.set(i)
		}
		if i == 0 || iv.start.hi>>32 != ivs[i-1].start.hi>>32 {
			buckets++
		}
	}
	t.slots = make([]slot6[V], buckets+buckets/3+1) // load factor 3/4
	for i := 0; i < len(ivs); {
		key, j := uint32(ivs[i].start.hi>>32), i+1
		for j < len(ivs) && uint32(ivs[j].start.hi>>32) == key {
			j++
		}
		h := home(key, len(t.slots))
		for t.slots[h].n != 0 {
			if h++; h == len(t.slots) {
				h = 0
			}
		}
		t.slots[h] = slot6[V]{key: key, first: uint32(i), n: uint32(j - i), fast: rec[V]{node: -1}}
		t.cacheFast(&t.slots[h], ivs, nodes)
		i = j
	}
	if len(shorts) > 0 {
		t.shorts = newTable4(flatten(shorts, u128{0, 1<<32 - 1}, nil), nodes)
	}
	return t
}

// cacheFast fills s's fast path with the first interval of its /32 that is
// exactly one prefix's range.
func (t *table6[V]) cacheFast(s *slot6[V], ivs []interval, nodes []node[V]) {
	for i := s.first; i < s.first+s.n; i++ {
		n := ivs[i].node
		if n < 0 || int(i+1) >= len(ivs) || nodes[n].bits <= 32 {
			continue
		}
		m := hostMask(int(nodes[n].bits), 128)
		end := u128{ivs[i].start.hi | m.hi, ivs[i].start.lo | m.lo}
		if ivs[i].start.lo&m.lo == 0 && ivs[i].start.hi&m.hi == 0 && ivs[i+1].start == end.add1() {
			s.mid, s.lo, s.fast = uint32(ivs[i].start.hi), ivs[i].start.lo, t.ivs[i].rec
			return
		}
	}
}

// locate returns the slot of hi's /32 (nil if it has none) and, unless the
// slot's fast path answers, the index of the interval containing hi:lo.
func (t *table6[V]) locate(hi, lo uint64) (*slot6[V], int) {
	key := uint32(hi >> 32)
	for h := home(key, len(t.slots)); ; {
		s := &t.slots[h]
		if s.n == 0 {
			return nil, -1
		}
		if s.key == key {
			if s.fast.node >= 0 && hostOK(s, uint32(hi), lo) {
				return s, -1
			}
			return s, int(s.first) + search6(t.ivs[s.first:s.first+s.n], uint32(hi), lo)
		}
		if h++; h == len(t.slots) {
			h = 0
		}
	}
}

// hostOK reports whether mid:lo lies in the slot's cached prefix.
func hostOK[V any](s *slot6[V], mid uint32, lo uint64) bool {
	m := hostMask(int(s.fast.bits), 128)
	return mid&^uint32(m.hi) == s.mid && lo&^m.lo == s.lo
}

func (t *table6[V]) find(hi, lo uint64) *rec[V] {
	s, i := t.locate(hi, lo)
	switch {
	case s == nil && t.shorts == nil:
		return nil
	case s == nil:
		return t.shorts.find(uint32(hi >> 32))
	case i < 0:
		return &s.fast
	}
	return &t.ivs[i].rec
}

func (t *table6[V]) contains(hi, lo uint64) bool {
	s, i := t.locate(hi, lo)
	switch {
	case s == nil:
		return t.shorts != nil && t.shorts.contains(uint32(hi>>32))
	case i < 0:
		return true
	}
	return t.covered.has(i)
}

// search6 returns the index of the last interval starting at or before
// (mid, lo), or -1. A /32 rarely holds more than a few intervals, so this
// scans short runs and bisects long ones.
func search6[V any](ivs []iv6[V], mid uint32, lo uint64) int {
	after := func(iv *iv6[V]) bool { return iv.mid > mid || iv.mid == mid && iv.lo > lo }
	base, n := 0, len(ivs)
	for n > 8 {
		half := n / 2
		if !after(&ivs[base+half]) {
			base += half
		}
		n -= half
	}
	i := base
	for i < len(ivs) && !after(&ivs[i]) {
		i++
	}
	return i - 1
}
