package guard

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// unknownTable holds the budgets of names that match no account, so that
// they lock exactly like real accounts without a row per name. It is a fixed
// array of slots (open addressing over a short probe window): memory does not
// grow with the number of names tried. When every slot in a window is busy
// the least recently updated one is reused; an attacker who floods more names
// than there are slots only ages out the oldest of them.
//
// A slot is small on purpose: the key is a 64-bit keyed hash (two names
// colliding would share a budget, which for names without accounts is
// harmless and needs about 2^32 names to happen once) and the state is
// packed into one pointer-free byte slice (see budgetcodec.go), about 50
// bytes for a typical name, instead of five heap objects of 250.
type unknownTable struct {
	mu    sync.Mutex
	seed  maphash.Seed
	slots []unknownSlot
}

type unknownSlot struct {
	hash    uint64 // 0 = free
	version int64
	updated int64  // UpdatedAt in Unix nanoseconds: eviction order
	packed  []byte // the rest of the state (encodeBudget)
}

const unknownProbe = 8

func newUnknownTable(n int) *unknownTable {
	return &unknownTable{seed: maphash.MakeSeed(), slots: make([]unknownSlot, n)}
}

// hashOf returns key's slot hash, never 0 (the free marker).
func (u *unknownTable) hashOf(key store.BudgetKey) uint64 {
	var h maphash.Hash
	h.SetSeed(u.seed)
	for _, part := range [...]string{key.TenantID, key.Subject, key.Class, key.Scope} {
		_, _ = h.WriteString(part)
		_ = h.WriteByte(0)
	}
	return max(h.Sum64(), 1)
}

// find returns the slot index holding h (or -1) and the first index of its
// probe window.
func (u *unknownTable) find(h uint64) (int, int) {
	start := int(h % uint64(len(u.slots)))
	for i := range unknownProbe {
		idx := (start + i) % len(u.slots)
		if u.slots[idx].hash == h {
			return idx, start
		}
	}
	return -1, start
}

// GetBudget implements budgetBackend.
func (u *unknownTable) GetBudget(_ context.Context, key store.BudgetKey) (store.BudgetState, error) {
	h := u.hashOf(key)
	u.mu.Lock()
	idx, _ := u.find(h)
	var s unknownSlot
	if idx >= 0 {
		s = u.slots[idx] // packed is never modified in place, so sharing it is safe
	}
	u.mu.Unlock()
	if idx < 0 {
		return store.BudgetState{Key: key}, nil
	}
	return decodeBudget(key, s.version, s.updated, s.packed)
}

// PutBudget implements budgetBackend with the same version check as the
// durable stores.
func (u *unknownTable) PutBudget(_ context.Context, st store.BudgetState) (int64, error) {
	h := u.hashOf(st.Key)
	packed := encodeBudget(st)
	u.mu.Lock()
	defer u.mu.Unlock()
	idx, start := u.find(h)
	current := int64(0)
	if idx >= 0 {
		current = u.slots[idx].version
	}
	if current != st.Version {
		return 0, store.ErrConflict
	}
	if idx < 0 {
		idx = start
		for i := range unknownProbe {
			w := (start + i) % len(u.slots)
			if u.slots[w].hash == 0 {
				idx = w
				break
			}
			if u.slots[w].updated < u.slots[idx].updated {
				idx = w
			}
		}
	}
	u.slots[idx] = unknownSlot{hash: h, version: current + 1, updated: unixNanos(st.UpdatedAt), packed: packed}
	return current + 1, nil
}
