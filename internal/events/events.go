// Package events is the in-process event bus: the guard publishes "account
// locked" and "account unlocked", notification and audit work subscribes.
// Publishing never blocks the sign-in path: a subscriber that falls behind
// loses events (and the loss is counted), it never slows sign-ins down.
package events

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event types.
const (
	AccountLocked   = "accountLocked"
	AccountUnlocked = "accountUnlocked"
)

// Event is something that happened to an account.
type Event struct {
	Type     string
	At       time.Time
	TenantID string
	UserID   string
	UPN      string
	// Details are type-specific (class, expiry, who unlocked, reason...).
	Details map[string]string
}

// Bus fans events out to subscribers.
type Bus struct {
	mu      sync.RWMutex
	subs    map[int]chan Event
	next    int
	dropped atomic.Int64
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[int]chan Event{}} }

// Subscribe returns a channel receiving every event published from now on,
// buffered to buf, and a function that ends the subscription.
func (b *Bus) Subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, buf)
	b.mu.Lock()
	id := b.next
	b.next++
	b.subs[id] = ch
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		if _, ok := b.subs[id]; ok {
			delete(b.subs, id)
			close(ch)
		}
		b.mu.Unlock()
	}
}

// Publish delivers e to every subscriber with room; it never blocks.
func (b *Bus) Publish(e Event) {
	if b == nil {
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, ch := range b.subs {
		select {
		case ch <- e:
		default:
			b.dropped.Add(1)
		}
	}
}

// Dropped reports how many deliveries were lost to full subscribers.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }
