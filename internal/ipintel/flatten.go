package ipintel

// This file turns a laminar family of prefixes (any two are either nested
// or disjoint) into a sorted list of disjoint address intervals covering the
// whole address space. Each interval names the most specific prefix that
// covers it (or none); the less specific ones are reached through parent
// links, so a lookup finds every match without walking a trie.

// u128 is an address of either family: IPv4 uses the low 32 bits of lo.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) add1() u128 {
	if a.lo++; a.lo == 0 {
		a.hi++
	}
	return a
}

// hostMask returns the host bits of a /bits prefix in a width-bit family.
func hostMask(bits, width int) u128 {
	free := width - bits
	switch {
	case free >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case free >= 64:
		return u128{1<<(free-64) - 1, ^uint64(0)}
	default:
		return u128{0, 1<<free - 1}
	}
}

// span is one distinct prefix as an inclusive address range.
type span struct {
	start, end u128
	node       int32
}

// interval starts at start and runs to the next interval's start; node is
// the most specific covering prefix, or -1.
type interval struct {
	start u128
	node  int32
}

// flatten converts spans, sorted by start and then by decreasing size (so a
// container precedes what it contains), into disjoint intervals. The first
// interval starts at address 0; max is the family's last address. If parent
// is not nil, parent[s.node] is set to the node of s's closest container.
func flatten(spans []span, max u128, parent []int32) []interval {
	out := make([]interval, 1, 2*len(spans)+1)
	out[0].node = -1
	emit := func(start u128, node int32) {
		last := &out[len(out)-1]
		switch {
		case last.start == start:
			last.node = node
			if n := len(out); n > 1 && out[n-2].node == node {
				out = out[:n-1]
			}
		case last.node != node:
			out = append(out, interval{start, node})
		}
	}
	stack := make([]span, 0, 16)
	pop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if top.end != max {
			next := int32(-1)
			if len(stack) > 0 {
				next = stack[len(stack)-1].node
			}
			emit(top.end.add1(), next)
		}
	}
	for _, s := range spans {
		for len(stack) > 0 && stack[len(stack)-1].end.less(s.start) {
			pop()
		}
		if parent != nil {
			parent[s.node] = -1
			if len(stack) > 0 {
				parent[s.node] = stack[len(stack)-1].node
			}
		}
		emit(s.start, s.node)
		stack = append(stack, s)
	}
	for len(stack) > 0 {
		pop()
	}
	return out
}
