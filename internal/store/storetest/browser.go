package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Browser checks authorization codes (single use, replay reported with the
// code), SSO sessions, device cookies and refresh token rotation (one
// winner among concurrent redemptions).
func Browser(t *testing.T, newStore Factory) {
	t.Run("AuthCodes", func(t *testing.T) { authCodes(t, newStore(t)) })
	t.Run("SessionsAndDeviceCookies", func(t *testing.T) { sessionsAndDevices(t, newStore(t)) })
}

func authCodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	code := store.AuthCode{Hash: newID(), TenantID: "t", ClientID: "c", UserID: "u", RedirectURI: "https://app/cb",
		Scopes: "openid", Nonce: "n", CodeChallenge: "ch", SessionID: "s", AuthTime: base, CreatedAt: base,
		ExpiresAt: base.Add(5 * time.Minute)}
	must(t, s.CreateAuthCode(ctx, code), "CreateAuthCode")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := s.RedeemAuthCode(ctx, code.Hash, base.Add(time.Second))
			switch {
			case err == nil:
				wins.Add(1)
				if got.RedirectURI != code.RedirectURI || got.Nonce != "n" || !got.AuthTime.Equal(base) {
					t.Errorf("redeemed code = %+v", got)
				}
			case errors.Is(err, store.ErrConflict):
				if got.ClientID != "c" {
					t.Errorf("a replay must return the code: %+v", got)
				}
			default:
				t.Errorf("RedeemAuthCode: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d redemptions of one code succeeded, want 1", wins.Load())
	}
	must(t, s.SetAuthCodeFamily(ctx, code.Hash, "fam"), "SetAuthCodeFamily")
	if got, err := s.RedeemAuthCode(ctx, code.Hash, base); !errors.Is(err, store.ErrConflict) || got.FamilyID != "fam" {
		t.Fatalf("replay after the family was set: %+v, %v", got, err)
	}
	_, err := s.RedeemAuthCode(ctx, newID(), base)
	wantErr(t, err, store.ErrNotFound, "unknown code")
	if n, err := s.PruneGrants(ctx, base.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneGrants of the expired code = %d, %v", n, err)
	}
}

func sessionsAndDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	sess := store.Session{ID: newID(), TenantID: "t", UserID: "u", CreatedAt: base, ExpiresAt: base.Add(time.Hour), Persistent: true}
	must(t, s.CreateSession(ctx, sess), "CreateSession")
	got, err := s.GetSession(ctx, sess.ID)
	must(t, err, "GetSession")
	if got != sess {
		t.Fatalf("session round trip: %+v, want %+v", got, sess)
	}
	must(t, s.RevokeSession(ctx, sess.ID, base.Add(time.Minute)), "RevokeSession")
	if got, _ = s.GetSession(ctx, sess.ID); !got.RevokedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("revoked session: %+v", got)
	}
	_, err = s.GetSession(ctx, newID())
	wantErr(t, err, store.ErrNotFound, "unknown session")
	devicesAndRefresh(t, s)
}

func devicesAndRefresh(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup

	for _, id := range []string{"d1", "d2"} {
		must(t, s.CreateDeviceCookie(ctx, store.DeviceCookie{ID: id, TenantID: "t", UserID: "u", CreatedAt: base}), "CreateDeviceCookie")
	}
	must(t, s.CreateDeviceCookie(ctx, store.DeviceCookie{ID: "d3", TenantID: "t", UserID: "other", CreatedAt: base}), "CreateDeviceCookie")
	if n, err := s.RevokeDeviceCookies(ctx, "t", "u", base.Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("RevokeDeviceCookies = %d, %v", n, err)
	}
	if d, err := s.GetDeviceCookie(ctx, "d1"); err != nil || d.RevokedAt.IsZero() || d.UserID != "u" {
		t.Fatalf("revoked device cookie: %+v, %v", d, err)
	}
	if d, _ := s.GetDeviceCookie(ctx, "d3"); !d.RevokedAt.IsZero() {
		t.Fatal("another user's device cookie was revoked")
	}

	first := store.RefreshToken{ID: newID(), Hash: newID(), FamilyID: "f", TenantID: "t", UserID: "u", ClientID: "c",
		Scopes: "openid", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	must(t, s.CreateRefreshToken(ctx, first), "CreateRefreshToken")
	var rotated atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			next := first
			next.ID, next.Hash = newID(), newID()
			err := s.RotateRefreshToken(ctx, first.ID, next, base.Add(time.Duration(i)*time.Second))
			switch {
			case err == nil:
				rotated.Add(1)
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("RotateRefreshToken: %v", err)
			}
		})
	}
	wg.Wait()
	if rotated.Load() != 1 {
		t.Fatalf("%d rotations of one refresh token succeeded, want 1", rotated.Load())
	}
	if got, err := s.RefreshTokenByHash(ctx, first.Hash); err != nil || got.UsedAt.IsZero() {
		t.Fatalf("the rotated token: %+v, %v", got, err)
	}
	// An hour past everything: the revoked session and device cookies, the
	// spent and the new refresh token (expired) go; the other user's live
	// device cookie stays.
	if n, err := s.PruneGrants(ctx, base.Add(2*time.Hour)); err != nil || n != 5 {
		t.Fatalf("PruneGrants = %d, %v; want the session, 2 device cookies and 2 refresh tokens", n, err)
	}
	if _, err := s.GetDeviceCookie(ctx, "d3"); err != nil {
		t.Fatalf("a live device cookie was pruned: %v", err)
	}
}
