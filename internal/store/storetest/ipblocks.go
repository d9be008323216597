package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// ipBlockDiff describes how got differs from want, or returns "".
func ipBlockDiff(got, want store.IPBlock) string {
	g, w := got, want
	g.CreatedAt, g.ExpiresAt, g.RevokedAt = time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.ExpiresAt, w.RevokedAt = time.Time{}, time.Time{}, time.Time{}
	if g != w || !sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.ExpiresAt, want.ExpiresAt) ||
		!sameTime(got.RevokedAt, want.RevokedAt) {
		return fmt.Sprintf("\n got %+v\nwant %+v (times in UTC)", got, want)
	}
	return ""
}

func wantIPBlock(t *testing.T, s store.Store, want store.IPBlock, what string) {
	t.Helper()
	got, err := s.GetIPBlock(context.Background(), want.ID)
	must(t, err, what)
	if d := ipBlockDiff(got, want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

func wantIPBlockList(t *testing.T, s store.Store, activeOnly bool, now time.Time, want ...store.IPBlock) {
	t.Helper()
	got, err := s.ListIPBlocks(context.Background(), activeOnly, now)
	must(t, err, "ListIPBlocks")
	if len(got) != len(want) {
		t.Fatalf("ListIPBlocks(activeOnly=%v) returned %d blocks, want %d: %+v", activeOnly, len(got), len(want), got)
	}
	for i := range want {
		if d := ipBlockDiff(got[i], want[i]); d != "" {
			t.Fatalf("ListIPBlocks(activeOnly=%v)[%d]: %s", activeOnly, i, d)
		}
	}
}

func ipBlock(id, prefix string, created time.Time) store.IPBlock {
	return store.IPBlock{ID: id, Prefix: prefix, Origin: "admin", Reason: "abuse report", CreatedAt: created,
		CreatedBy: "admin@contoso.test"}
}

// IPBlocks checks block records: round trip, newest-first listing, the
// active filter, first-revoke-wins and the change version.
func IPBlocks(t *testing.T, newStore Factory) {
	t.Run("RoundTrip", func(t *testing.T) { ipBlockRoundTrip(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { ipBlockList(t, newStore(t)) })
	t.Run("ActiveOnly", func(t *testing.T) { ipBlockActive(t, newStore(t)) })
	t.Run("Revoke", func(t *testing.T) { ipBlockRevoke(t, newStore(t)) })
	t.Run("Version", func(t *testing.T) { ipBlockVersion(t, newStore(t)) })
}

func ipBlockRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	paris := time.FixedZone("CET", 3600)
	full := store.IPBlock{
		ID: "B1", Prefix: "203.0.113.0/24", Origin: "detection", Rule: "spray", Reason: "password spray",
		Evidence:   `{"failures":120,"window":"10m","accounts":["alice","bob"]}`,
		ReportOnly: true, CreatedAt: base.Add(time.Microsecond).In(paris), CreatedBy: "detector",
		ExpiresAt: base.Add(time.Hour + 7*time.Microsecond), RevokedAt: base.Add(30*time.Minute + 3*time.Microsecond),
		RevokedBy: "admin@contoso.test", RevokeReason: "false positive",
	}
	plain := ipBlock("B2", "2001:db8::1/128", base) // no rule, evidence, expiry or revocation
	must(t, s.CreateIPBlock(ctx, full), "CreateIPBlock full")
	must(t, s.CreateIPBlock(ctx, plain), "CreateIPBlock plain")
	wantIPBlock(t, s, full, "round trip of every field")
	wantIPBlock(t, s, plain, "round trip without expiry")

	dup := ipBlock("B1", "198.51.100.7/32", base.Add(time.Hour))
	wantErr(t, s.CreateIPBlock(ctx, dup), store.ErrConflict, "duplicate ip block ID")
	wantIPBlock(t, s, full, "block after a duplicate create")
	_, err := s.GetIPBlock(ctx, "B9")
	wantErr(t, err, store.ErrNotFound, "unknown ip block")
}

func ipBlockList(t *testing.T, s store.Store) {
	ctx := context.Background()
	wantIPBlockList(t, s, false, base)
	wantIPBlockList(t, s, true, base)
	oldest := ipBlock("B1", "192.0.2.1/32", base)
	tieA, tieB := ipBlock("B2", "192.0.2.2/32", base.Add(time.Hour)), ipBlock("B3", "192.0.2.3/32", base.Add(time.Hour))
	newest := ipBlock("B0", "192.0.2.0/24", base.Add(time.Hour+time.Microsecond))
	for _, b := range []store.IPBlock{tieB, newest, oldest, tieA} {
		must(t, s.CreateIPBlock(ctx, b), "CreateIPBlock "+b.ID)
	}
	wantIPBlockList(t, s, false, base, newest, tieB, tieA, oldest)
	wantIPBlockList(t, s, true, base.Add(2*time.Hour), newest, tieB, tieA, oldest)
}

func ipBlockActive(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base.Add(24 * time.Hour)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	permanent := ipBlock("A1", "192.0.2.1/32", at(1))
	future := ipBlock("A2", "192.0.2.2/32", at(2))
	future.ExpiresAt = now.Add(time.Microsecond)
	expired := ipBlock("A3", "192.0.2.3/32", at(3))
	expired.ExpiresAt = now.Add(-time.Hour)
	expiresNow := ipBlock("A4", "192.0.2.4/32", at(4))
	expiresNow.ExpiresAt = now
	revoked := ipBlock("A5", "192.0.2.5/32", at(5))
	revoked.RevokedAt, revoked.RevokedBy, revoked.RevokeReason = at(6), "admin", "done"
	reportOnly := ipBlock("A6", "192.0.2.6/32", at(7))
	reportOnly.Origin, reportOnly.Rule, reportOnly.ReportOnly = "detection", "velocity", true
	revokedLater := ipBlock("A7", "192.0.2.7/32", at(8))
	all := []store.IPBlock{permanent, future, expired, expiresNow, revoked, reportOnly, revokedLater}
	for _, b := range all {
		must(t, s.CreateIPBlock(ctx, b), "CreateIPBlock "+b.ID)
		if b.Active(now) != slices.Contains([]string{"A1", "A2", "A7"}, b.ID) {
			t.Fatalf("test setup: %s.Active(now) = %v", b.ID, b.Active(now))
		}
	}
	wantIPBlockList(t, s, true, now, revokedLater, future, permanent)
	wantIPBlockList(t, s, false, now, revokedLater, reportOnly, revoked, expiresNow, expired, future, permanent)
	// Earlier, the expired blocks were still in force.
	wantIPBlockList(t, s, true, now.Add(-2*time.Hour), revokedLater, expiresNow, expired, future, permanent)
	must(t, s.RevokeIPBlock(ctx, "A7", now, "admin", "lifted"), "RevokeIPBlock")
	wantIPBlockList(t, s, true, now, future, permanent)
	wantIPBlockList(t, s, true, now.Add(time.Microsecond), permanent)
}

func ipBlockRevoke(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := ipBlock("R1", "198.51.100.0/24", base)
	b.ExpiresAt = base.Add(48 * time.Hour)
	must(t, s.CreateIPBlock(ctx, b), "CreateIPBlock")
	first := base.Add(time.Hour + 5*time.Microsecond)
	must(t, s.RevokeIPBlock(ctx, "R1", first.In(time.FixedZone("PST", -8*3600)), "alice", "resolved"), "RevokeIPBlock")
	b.RevokedAt, b.RevokedBy, b.RevokeReason = first, "alice", "resolved"
	wantIPBlock(t, s, b, "after revoke")
	must(t, s.RevokeIPBlock(ctx, "R1", base.Add(5*time.Hour), "bob", "again"), "second RevokeIPBlock")
	wantIPBlock(t, s, b, "second revoke must keep the first")

	pre := ipBlock("R2", "198.51.100.9/32", base)
	pre.RevokedAt, pre.RevokedBy, pre.RevokeReason = base.Add(time.Minute), "carol", "created revoked"
	must(t, s.CreateIPBlock(ctx, pre), "CreateIPBlock revoked")
	must(t, s.RevokeIPBlock(ctx, "R2", base.Add(time.Hour), "bob", "again"), "revoke of a block created revoked")
	wantIPBlock(t, s, pre, "block created revoked")
	wantErr(t, s.RevokeIPBlock(ctx, "R9", base, "bob", ""), store.ErrNotFound, "revoke of unknown block")
}

func ipBlockVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	version := func(what string) int64 {
		t.Helper()
		v, err := s.IPBlocksVersion(ctx)
		must(t, err, "IPBlocksVersion "+what)
		return v
	}
	same := func(before int64, what string) {
		t.Helper()
		if v := version(what); v != before {
			t.Fatalf("version changed from %d to %d on %s", before, v, what)
		}
	}
	grew := func(before int64, what string) int64 {
		t.Helper()
		v := version(what)
		if v <= before {
			t.Fatalf("version %d after %s, want more than %d", v, what, before)
		}
		return v
	}
	v := version("of an empty store")
	same(v, "a second read")
	must(t, s.CreateIPBlock(ctx, ipBlock("V1", "192.0.2.1/32", base)), "CreateIPBlock V1")
	v = grew(v, "create")
	must(t, s.CreateIPBlock(ctx, ipBlock("V2", "192.0.2.2/32", base)), "CreateIPBlock V2")
	v = grew(v, "second create")
	_, _ = s.GetIPBlock(ctx, "V1")
	_, _ = s.ListIPBlocks(ctx, true, base)
	_, _ = s.ListIPBlocks(ctx, false, base)
	same(v, "reads")
	wantErr(t, s.CreateIPBlock(ctx, ipBlock("V1", "192.0.2.3/32", base)), store.ErrConflict, "duplicate create")
	same(v, "a failed create")
	must(t, s.RevokeIPBlock(ctx, "V1", base.Add(time.Hour), "admin", ""), "RevokeIPBlock")
	v = grew(v, "an effective revoke")
	must(t, s.RevokeIPBlock(ctx, "V1", base.Add(2*time.Hour), "admin", ""), "second RevokeIPBlock")
	same(v, "a no-op revoke")
	_ = s.RevokeIPBlock(ctx, "V9", base, "admin", "")
	same(v, "a revoke of an unknown block")
	must(t, s.RevokeIPBlock(ctx, "V2", base.Add(time.Hour), "admin", ""), "RevokeIPBlock V2")
	grew(v, "a revoke of another block")
}

// namedLocationDiff describes how got differs from want, or returns "".
// Empty and nil lists are the same.
func namedLocationDiff(got, want store.NamedLocation) string {
	if got.ID != want.ID || got.TenantID != want.TenantID || got.DisplayName != want.DisplayName ||
		!slices.Equal(got.CIDRs, want.CIDRs) || !slices.Equal(got.Countries, want.Countries) ||
		got.IncludeUnknownCountries != want.IncludeUnknownCountries || got.Trusted != want.Trusted ||
		!sameTime(got.CreatedAt, want.CreatedAt) {
		return fmt.Sprintf("\n got %+v\nwant %+v (times in UTC)", got, want)
	}
	return ""
}

func wantNamedLocations(t *testing.T, s store.Store, tenantID string, want ...store.NamedLocation) {
	t.Helper()
	got, err := s.ListNamedLocations(context.Background(), tenantID)
	must(t, err, "ListNamedLocations")
	if len(got) != len(want) {
		t.Fatalf("ListNamedLocations returned %d locations, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if d := namedLocationDiff(got[i], want[i]); d != "" {
			t.Fatalf("ListNamedLocations[%d]: %s", i, d)
		}
	}
}

// NamedLocations checks per-tenant named locations: round trip, order by
// name, unique names per tenant, deletion and tenant isolation.
func NamedLocations(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	tn := seedTenant(t, s, "contoso.test")
	other := seedTenant(t, s, "fabrikam.test")
	wantNamedLocations(t, s, tn.ID)

	office := store.NamedLocation{ID: newID(), TenantID: tn.ID, DisplayName: "Office",
		CIDRs: []string{"203.0.113.0/24", "2001:db8:1::/48"}, Trusted: true,
		CreatedAt: base.Add(time.Microsecond).In(time.FixedZone("CET", 3600))}
	countries := store.NamedLocation{ID: newID(), TenantID: tn.ID, DisplayName: "Blocked countries",
		Countries: []string{"KP", "RU"}, IncludeUnknownCountries: true, CreatedAt: base.Add(time.Hour)}
	home := store.NamedLocation{ID: newID(), TenantID: tn.ID, DisplayName: "Home", CIDRs: []string{"198.51.100.7/32"},
		CreatedAt: base}
	for _, l := range []store.NamedLocation{office, countries, home} {
		must(t, s.CreateNamedLocation(ctx, l), "CreateNamedLocation "+l.DisplayName)
	}
	wantNamedLocations(t, s, tn.ID, countries, home, office)

	dup := office
	dup.ID, dup.CIDRs = newID(), []string{"192.0.2.0/24"}
	wantErr(t, s.CreateNamedLocation(ctx, dup), store.ErrConflict, "duplicate name in a tenant")
	elsewhere := dup
	elsewhere.TenantID = other.ID
	must(t, s.CreateNamedLocation(ctx, elsewhere), "same name in another tenant")
	orphan := dup
	orphan.ID, orphan.TenantID = newID(), newID()
	wantErr(t, s.CreateNamedLocation(ctx, orphan), store.ErrNotFound, "location of unknown tenant")
	wantNamedLocations(t, s, tn.ID, countries, home, office)
	wantNamedLocations(t, s, other.ID, elsewhere)

	// Isolation: a tenant cannot delete another's location.
	wantErr(t, s.DeleteNamedLocation(ctx, other.ID, office.ID), store.ErrNotFound, "delete through another tenant")
	wantNamedLocations(t, s, tn.ID, countries, home, office)

	must(t, s.DeleteNamedLocation(ctx, tn.ID, office.ID), "DeleteNamedLocation")
	wantNamedLocations(t, s, tn.ID, countries, home)
	wantNamedLocations(t, s, other.ID, elsewhere)
	wantErr(t, s.DeleteNamedLocation(ctx, tn.ID, office.ID), store.ErrNotFound, "second delete")
	wantErr(t, s.DeleteNamedLocation(ctx, tn.ID, newID()), store.ErrNotFound, "delete of unknown location")

	// A deleted location's name is free again.
	dup.ID = newID()
	must(t, s.CreateNamedLocation(ctx, dup), "re-create a deleted name")
	wantNamedLocations(t, s, tn.ID, countries, home, dup)
}
