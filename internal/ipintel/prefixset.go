// Package ipintel answers "is this client address on a threat-intelligence
// list?" for the sign-in path, so Portcullis can refuse sign-ins from
// malicious addresses (the AADSTS50053 behaviour).
//
// The design keeps lookups off every slow path. Lists are fetched, parsed and
// compiled into an immutable snapshot (a [PrefixSet]) by a background
// refresher; the finished snapshot is then published with a single atomic
// pointer swap. Readers load that pointer and search a structure nobody will
// ever modify again, so they never take a lock, never wait for a download or a
// rebuild, and always see one complete generation of the data: either the old
// snapshot or the new one, never a mixture. Old snapshots are reclaimed by the
// garbage collector once the last reader has finished with them.
package ipintel

import (
	"cmp"
	"encoding/binary"
	"iter"
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"
)

// Entry is one prefix with the value it carries (for example the feed it
// came from).
type Entry[V any] struct {
	Prefix netip.Prefix
	Value  V
}

// PrefixSet is an immutable set of prefixes with values. It is safe for
// concurrent use because nothing mutates it after [NewPrefixSet] returns. A
// nil *PrefixSet, like the zero PrefixSet, is an empty set.
//
// Values are stored in prefix order in vals, so the values of one prefix
// form a contiguous run; the trie maps each distinct prefix to the start of
// its run (4 bytes per prefix instead of a slice header). The bitmap more
// marks "the next value belongs to the same prefix" and is only allocated
// when the input has duplicates.
type PrefixSet[V any] struct {
	trie *bart.Table[uint32]
	vals []V
	more []uint64 // bit i: vals[i+1] has the same prefix as vals[i]
}

// normalizePrefix masks p and turns an IPv4-mapped IPv6 prefix into the
// plain IPv4 prefix, so "::ffff:192.0.2.0/120" and "192.0.2.0/24" are the
// same entry. It reports false for prefixes that cannot be stored.
func normalizePrefix(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	a := p.Addr()
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked(), true
	}
	return netip.PrefixFrom(a, p.Bits()).Masked(), true
}

// normalizeAddr mirrors normalizePrefix for lookup addresses; bart does not
// unmap on its own (for speed), so we do it once here.
func normalizeAddr(ip netip.Addr) netip.Addr {
	if ip.Is4In6() {
		return ip.Unmap()
	}
	return ip.WithZone("")
}

// NewPrefixSet builds a set from entries. Prefixes are masked, IPv4-mapped
// IPv6 prefixes are unmapped, invalid prefixes are skipped, and duplicate
// prefixes keep all of their values in input order.
func NewPrefixSet[V any](entries []Entry[V]) *PrefixSet[V] {
	keys := make([]sortKey, 0, len(entries))
	for i := range entries {
		keys = appendKey(keys, entries[i].Prefix, uint32(i))
	}
	return buildSet(keys, func(h uint32) V { return entries[h].Value })
}

// sortKey is a prefix flattened to integers plus a caller's handle. Sorting
// these is several times faster than sorting netip.Prefix values, and
// inserting into bart in address order is about four times faster than in
// random order because consecutive inserts touch the same, cached, nodes.
type sortKey struct {
	hi, lo uint64 // address; IPv4 uses the low 32 bits of hi
	handle uint32 // identifies the value; also breaks ties in input order
	bits   uint8
	v6     bool
}

// appendKey normalizes p and appends its key, skipping invalid prefixes.
func appendKey(keys []sortKey, p netip.Prefix, handle uint32) []sortKey {
	p, ok := normalizePrefix(p)
	if !ok {
		return keys
	}
	k := sortKey{handle: handle, bits: uint8(p.Bits()), v6: p.Addr().Is6()}
	if k.v6 {
		a := p.Addr().As16()
		k.hi, k.lo = binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	} else {
		a := p.Addr().As4()
		k.hi = uint64(binary.BigEndian.Uint32(a[:]))
	}
	return append(keys, k)
}

func (k *sortKey) prefix() netip.Prefix {
	if !k.v6 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], uint32(k.hi))
		return netip.PrefixFrom(netip.AddrFrom4(a), int(k.bits))
	}
	var a [16]byte
	binary.BigEndian.PutUint64(a[:8], k.hi)
	binary.BigEndian.PutUint64(a[8:], k.lo)
	return netip.PrefixFrom(netip.AddrFrom16(a), int(k.bits))
}

func (k *sortKey) samePrefix(o *sortKey) bool {
	return k.hi == o.hi && k.lo == o.lo && k.bits == o.bits && k.v6 == o.v6
}

func compareKeys(a, b sortKey) int {
	if a.v6 != b.v6 {
		if a.v6 {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	if c := cmp.Compare(a.bits, b.bits); c != 0 {
		return c
	}
	return cmp.Compare(a.handle, b.handle)
}

// buildSet sorts keys (in place) and builds the set; valueOf maps a key's
// handle to its value.
func buildSet[V any](keys []sortKey, valueOf func(handle uint32) V) *PrefixSet[V] {
	slices.SortFunc(keys, compareKeys)
	s := &PrefixSet[V]{trie: new(bart.Table[uint32]), vals: make([]V, len(keys))}
	for i := range keys {
		s.vals[i] = valueOf(keys[i].handle)
		if i > 0 && keys[i].samePrefix(&keys[i-1]) {
			if s.more == nil {
				s.more = make([]uint64, (len(keys)+63)/64)
			}
			s.more[(i-1)/64] |= 1 << ((i - 1) % 64)
			continue
		}
		s.trie.Insert(keys[i].prefix(), uint32(i))
	}
	return s
}

// Len returns the number of distinct prefixes in the set.
func (s *PrefixSet[V]) Len() int {
	if s == nil || s.trie == nil {
		return 0
	}
	return s.trie.Size()
}

// Contains reports whether any prefix contains ip. It does not allocate,
// which makes it the right first check on the hot path: most addresses are
// on no list at all.
func (s *PrefixSet[V]) Contains(ip netip.Addr) bool {
	if s == nil || s.trie == nil || !ip.IsValid() {
		return false
	}
	return s.trie.Contains(normalizeAddr(ip))
}

// Matches yields every (prefix, value) whose prefix contains ip, most
// specific prefix first; values of one prefix come in input order. Unlike a
// routing lookup this does not stop at the longest match, because nested
// prefixes usually come from different sources and each must be reported.
func (s *PrefixSet[V]) Matches(ip netip.Addr) iter.Seq2[netip.Prefix, V] {
	return func(yield func(netip.Prefix, V) bool) {
		if s.Contains(ip) {
			s.walk(ip, yield)
		}
	}
}

// walk is Matches for callers that already know Contains(ip) is true, so the
// common hit path descends the trie once for the check and once to collect.
func (s *PrefixSet[V]) walk(ip netip.Addr, yield func(netip.Prefix, V) bool) {
	ip = normalizeAddr(ip)
	host := netip.PrefixFrom(ip, ip.BitLen())
	for p, i := range s.trie.Supernets(host) {
		for ; ; i++ {
			if !yield(p, s.vals[i]) {
				return
			}
			if s.more == nil || s.more[i/64]&(1<<(i%64)) == 0 {
				break
			}
		}
	}
}

// Lookup returns the values of every prefix containing ip, most specific
// first. It returns nil, without allocating, when nothing matches.
func (s *PrefixSet[V]) Lookup(ip netip.Addr) []V {
	if !s.Contains(ip) {
		return nil
	}
	var out []V
	s.walk(ip, func(_ netip.Prefix, v V) bool {
		out = append(out, v)
		return true
	})
	return out
}
