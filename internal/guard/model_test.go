package guard

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// lockModel is what the test knows independently of the guard's internals:
// when locks were in force and which wrong passwords were really verified.
type lockModel struct {
	f        *fixture
	user     store.User
	wrongs   []string
	verified []time.Time // verified wrong passwords since the last reset
	locks    []interval
}

type interval struct{ start, end time.Time }

func (m *lockModel) inLock(t time.Time) bool {
	for _, l := range m.locks {
		if !t.Before(l.start) && t.Before(l.end) {
			return true
		}
	}
	return false
}

// attempt runs one password and checks the invariants.
func (m *lockModel) attempt(rt *rapid.T, pw string) {
	now := m.f.now()
	out, err := m.f.g.CheckPassword(context.Background(), Attempt{TenantID: tenantID, User: &m.user, LoginKey: m.user.LoginKey, Password: pw})
	if err != nil {
		rt.Fatalf("CheckPassword: %v", err)
	}
	if out.Verified && m.inLock(now) {
		rt.Fatalf("password verified at %s inside a lock %v", now, m.locks)
	}
	if out.Refused() && !m.inLock(now) {
		rt.Fatalf("refused at %s with no lock in force (%v): %+v", now, m.locks, out)
	}
	if pw == "right" && !out.Refused() && !out.Correct {
		rt.Fatalf("correct password neither refused nor accepted: %+v", out)
	}
	if out.LockedNow {
		m.locks = append(m.locks, interval{now, out.LockedUntil})
	}
	if out.Correct {
		m.verified = nil
		return
	}
	if !out.Verified {
		return
	}
	m.verified = append(m.verified, now)
	if out.Failures >= out.Threshold && !out.LockedNow {
		rt.Fatalf("failure %d of %d did not lock", out.Failures, out.Threshold)
	}
	// Verifications in the observation window: at most the threshold plus
	// one retry after each lock that has ended within it.
	window, inWindow, ended := testPolicy.ObservationWindow, 0, 0
	for _, v := range m.verified {
		if now.Sub(v) < window {
			inWindow++
		}
	}
	for _, l := range m.locks {
		if !l.end.After(now) && now.Sub(l.end) < window {
			ended++
		}
	}
	if inWindow > testPolicy.Threshold+ended {
		rt.Fatalf("%d wrong passwords verified within the window, policy allows %d+%d", inWindow, testPolicy.Threshold, ended)
	}
}

// TestGuardStateMachine drives random sequences of wrong passwords (new and
// repeated), correct passwords, unlocks and clock moves, and checks that no
// sequence verifies a password inside a lock, refuses outside one, or lets
// more wrong passwords through than the policy allows.
func TestGuardStateMachine(t *testing.T) {
	if !testing.Short() && flag.Lookup("rapid.checks").Value.String() == "100" {
		_ = flag.Set("rapid.checks", "400") // rapid's default, 100, is too few for this space
	}
	f := newFixture(t)
	rapid.Check(t, func(rt *rapid.T) {
		m := &lockModel{f: f, user: f.user(rt, "right")}
		rt.Repeat(map[string]func(*rapid.T){
			"wrongNew": func(rt *rapid.T) {
				pw := fmt.Sprint("wrong-", len(m.wrongs))
				m.wrongs = append(m.wrongs, pw)
				m.attempt(rt, pw)
			},
			"wrongRepeat": func(rt *rapid.T) {
				if len(m.wrongs) == 0 {
					rt.Skip("nothing to repeat")
				}
				m.attempt(rt, rapid.SampledFrom(m.wrongs).Draw(rt, "repeat"))
			},
			"correct": func(rt *rapid.T) { m.attempt(rt, "right") },
			"unlock": func(rt *rapid.T) {
				if _, err := f.g.Unlock(context.Background(), tenantID, m.user, "test", "model"); err != nil {
					rt.Fatalf("Unlock: %v", err)
				}
				now := f.now()
				for i := range m.locks {
					if m.locks[i].end.After(now) {
						m.locks[i].end = now
					}
				}
				m.verified = nil
			},
			"wait": func(rt *rapid.T) {
				// Steps around the policy's edges: lock duration (1m,
				// doubling), observation window (1h), max duration (10m).
				steps := []time.Duration{time.Second, 30 * time.Second, 61 * time.Second, 2 * time.Minute,
					5 * time.Minute, 11 * time.Minute, 59 * time.Minute, 61 * time.Minute, 3 * time.Hour}
				f.advance(rapid.SampledFrom(steps).Draw(rt, "wait"))
			},
		})
	})
}
