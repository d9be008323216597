package guard

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// unknownTable holds the budgets of names that match no account, so that
// they lock exactly like real accounts without a row per name. It is a fixed
// array of slots (open addressing over a short probe window): memory does not
// grow with the number of names tried. When every slot in a window is busy
// the least recently updated one is reused; an attacker who floods more names
// than there are slots only ages out the oldest of them.
type unknownTable struct {
	mu    sync.Mutex
	seed  maphash.Seed
	slots []unknownSlot
}

type unknownSlot struct {
	key   string // BudgetKey.String(); "" = free
	state store.BudgetState
}

const unknownProbe = 8

func newUnknownTable(n int) *unknownTable {
	return &unknownTable{seed: maphash.MakeSeed(), slots: make([]unknownSlot, n)}
}

// find returns the slot index holding key, or -1.
func (u *unknownTable) find(key string) (int, []int) {
	h := maphash.String(u.seed, key)
	window := make([]int, 0, unknownProbe)
	for i := range unknownProbe {
		idx := int((h + uint64(i)) % uint64(len(u.slots)))
		window = append(window, idx)
		if u.slots[idx].key == key {
			return idx, window
		}
	}
	return -1, window
}

// GetBudget implements budgetBackend.
func (u *unknownTable) GetBudget(_ context.Context, key store.BudgetKey) (store.BudgetState, error) {
	k := key.String()
	u.mu.Lock()
	defer u.mu.Unlock()
	if idx, _ := u.find(k); idx >= 0 {
		st := u.slots[idx].state
		st.Failures = append([]time.Time(nil), st.Failures...)
		st.Typos = append([]store.Typo(nil), st.Typos...)
		return st, nil
	}
	return store.BudgetState{Key: key}, nil
}

// PutBudget implements budgetBackend with the same version check as the
// durable stores.
func (u *unknownTable) PutBudget(_ context.Context, st store.BudgetState) (int64, error) {
	k := st.Key.String()
	u.mu.Lock()
	defer u.mu.Unlock()
	idx, window := u.find(k)
	current := int64(0)
	if idx >= 0 {
		current = u.slots[idx].state.Version
	}
	if current != st.Version {
		return 0, store.ErrConflict
	}
	if idx < 0 {
		idx = window[0]
		for _, w := range window {
			if u.slots[w].key == "" {
				idx = w
				break
			}
			if u.slots[w].state.UpdatedAt.Before(u.slots[idx].state.UpdatedAt) {
				idx = w
			}
		}
	}
	st.Version = current + 1
	u.slots[idx] = unknownSlot{key: k, state: st}
	return st.Version, nil
}
