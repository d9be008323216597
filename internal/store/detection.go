package store

import (
	"context"
	"time"
)

// DetectionObservation is one attempt as the attack detector counts it, in
// each of its source scopes (the address and its network).
type DetectionObservation struct {
	Scopes []DetectionScope
	// Slot groups the scopes' keys (the network): one round trip, and one
	// Redis Cluster slot, counts all of them.
	Slot    string
	Subject string // a user ID or a keyed hash of the name (never the name)
	Name    string // the name typed, kept as one of a few samples for the evidence
	Unknown bool   // the name has no account
	Failed  bool
	// Epoch is the attempt's bucket (time / (window / Buckets)); Buckets
	// of them make the window.
	Epoch   int64
	Buckets int
	Now     time.Time
	Window  time.Duration
}

// DetectionScope is one source scope and the most distinct accounts kept
// for it (the rules never need more).
type DetectionScope struct {
	Prefix string // e.g. "192.0.2.7/32" or "192.0.2.0/24"
	Limit  int
}

// DetectionCounts are a scope's counts over the sliding window, after the
// observation.
type DetectionCounts struct {
	Attempts, Failures, UnknownFailures   int
	Accounts, UnknownNames, MaxPerAccount int
	Samples                               []string
}

// DetectionWindows keeps the attack detector's sliding windows where
// several instances count together (Redis), so an attack spread over them
// is counted whole.
type DetectionWindows interface {
	// ObserveAttempt counts the attempt in every scope and returns each
	// scope's counts, in the order of o.Scopes.
	ObserveAttempt(ctx context.Context, o DetectionObservation) ([]DetectionCounts, error)
	// ClaimDetection reports whether the caller is the first to report a
	// detection for scope within quiet: only that one records the block.
	ClaimDetection(ctx context.Context, scope string, quiet time.Duration) (bool, error)
}
