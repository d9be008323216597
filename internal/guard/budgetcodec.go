package guard

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// encodeBudget packs the parts of a budget the unknown-name table does not
// keep in fixed fields into one byte slice: times as varint Unix
// nanoseconds (see unixNanos), failures as deltas from the previous one,
// typo MACs as raw bytes when they are the guard's hex MACs.
func encodeBudget(st store.BudgetState) []byte {
	b := make([]byte, 0, 24+10*len(st.Failures)+28*len(st.Typos)+len(st.LockoutID))
	b = binary.AppendVarint(b, unixNanos(st.LockedUntil))
	b = binary.AppendVarint(b, unixNanos(st.LockedAt))
	b = binary.AppendUvarint(b, uint64(st.Lockouts))
	b = appendString(b, st.LockoutID)
	b = binary.AppendUvarint(b, uint64(len(st.Failures)))
	prev := int64(0)
	for _, f := range st.Failures {
		n := unixNanos(f)
		b = binary.AppendVarint(b, n-prev)
		prev = n
	}
	b = binary.AppendUvarint(b, uint64(len(st.Typos)))
	for _, t := range st.Typos {
		if raw, err := hex.DecodeString(t.MAC); err == nil && hex.EncodeToString(raw) == t.MAC {
			b = append(b, 1) // raw bytes of a lower-case hex MAC
			b = appendString(b, string(raw))
		} else {
			b = append(b, 0)
			b = appendString(b, t.MAC)
		}
		b = binary.AppendVarint(b, unixNanos(t.At))
	}
	return b
}

var errCorruptBudget = errors.New("unknown-name budget: corrupt packed state")

// decodeBudget reverses encodeBudget.
func decodeBudget(key store.BudgetKey, version, updated int64, b []byte) (store.BudgetState, error) {
	r := budgetReader{b: b}
	st := store.BudgetState{Key: key, Version: version, UpdatedAt: fromNanos(updated)}
	st.LockedUntil = fromNanos(r.varint())
	st.LockedAt = fromNanos(r.varint())
	st.Lockouts = int(r.uvarint())
	st.LockoutID = r.string()
	if n := r.count(); n > 0 {
		st.Failures = make([]time.Time, n)
		prev := int64(0)
		for i := range st.Failures {
			prev += r.varint()
			st.Failures[i] = fromNanos(prev)
		}
	}
	if n := r.count(); n > 0 {
		st.Typos = make([]store.Typo, n)
		for i := range st.Typos {
			raw := r.byte() == 1
			mac := r.string()
			if raw {
				mac = hex.EncodeToString([]byte(mac))
			}
			st.Typos[i] = store.Typo{MAC: mac, At: fromNanos(r.varint())}
		}
	}
	if r.bad || len(r.b) != 0 {
		return store.BudgetState{}, errCorruptBudget
	}
	return st, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// unixNanos encodes t as an integer with 0 reserved for the zero time:
// Unix nanoseconds, shifted by one from the epoch on so that 1970-01-01
// itself stays distinct from "never".
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	if n := t.UnixNano(); n < 0 {
		return n
	} else {
		return n + 1
	}
}

func fromNanos(n int64) time.Time {
	switch {
	case n == 0:
		return time.Time{}
	case n > 0:
		n--
	}
	return time.Unix(0, n).UTC()
}

// budgetReader reads what encodeBudget wrote; any short read sets bad.
type budgetReader struct {
	b   []byte
	bad bool
}

func (r *budgetReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *budgetReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length that must fit in what is left (each element takes
// at least one byte), so corrupt input cannot ask for a huge allocation.
func (r *budgetReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return 0
	}
	return int(n)
}

func (r *budgetReader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *budgetReader) string() string {
	n := r.count()
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
