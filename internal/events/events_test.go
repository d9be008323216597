package events

import "testing"

func TestBusDeliversAndNeverBlocks(t *testing.T) {
	b := NewBus()
	fast, stopFast := b.Subscribe(10)
	slow, stopSlow := b.Subscribe(1)
	for range 3 {
		b.Publish(Event{Type: AccountLocked, UserID: "u1"})
	}
	if got := len(fast); got != 3 {
		t.Fatalf("fast subscriber got %d events, want 3", got)
	}
	if e := <-slow; e.Type != AccountLocked || e.UserID != "u1" {
		t.Fatalf("slow subscriber got %+v", e)
	}
	if b.Dropped() != 2 {
		t.Fatalf("dropped = %d, want 2", b.Dropped())
	}
	stopFast()
	stopFast() // idempotent
	stopSlow()
	b.Publish(Event{Type: AccountUnlocked}) // no subscribers: must not panic
	n := 0
	for range fast { // ends only if the channel was closed
		n++
	}
	if n != 3 {
		t.Fatalf("drained %d buffered events after unsubscribe, want 3", n)
	}
}
