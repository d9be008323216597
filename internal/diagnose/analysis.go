package diagnose

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Thresholds for naming an attack.
const (
	sprayAccounts   = 3 // other accounts one address failed on
	targetedSources = 5 // addresses failing on this one account
	sprayProbes     = 5 // busiest addresses checked for spray
)

type analysis struct {
	deps     Deps
	tenantID string
	now      time.Time
	user     *store.User
	typed    string
	records  []signinlog.Record
	rep      *Report
	locked   int  // refused by smart lockout
	lockSeen bool // a lock in force or started in the window
	wrong    int  // wrong passwords verified (50126)
	blocked  int  // refused for the address
	status   guard.Status
}

func (a *analysis) run(ctx context.Context) error {
	rep := a.rep
	rep.IPBlocks, rep.Patterns, rep.Checks = []BlockInfo{}, []Pattern{}, []Check{}
	rep.UserCanDo, rep.AdminCanDo = []string{}, []string{}
	if a.user != nil {
		u := a.user
		rep.User = &User{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
			AccountEnabled: u.AccountEnabled, MustChangePassword: u.ForceChangePasswordNextSignIn}
		st, err := a.deps.Guard.Status(ctx, a.tenantID, u.ID)
		if err != nil {
			return fmt.Errorf("lockout status: %w", err)
		}
		a.status = st
	}
	a.countFailures()
	a.lockInfo()
	if err := a.blocks(ctx); err != nil {
		return err
	}
	if err := a.patterns(ctx); err != nil {
		return err
	}
	if err := a.checks(ctx); err != nil {
		return err
	}
	a.cause()
	a.actions()
	return nil
}

// countFailures groups the failures and counts what the guard knew about
// the passwords.
func (a *analysis) countFailures() {
	f := &a.rep.Failures
	f.Total, f.Truncated = len(a.records), len(a.records) == maxRecords
	reasons, sources, locations, apps, classes := counter{}, counter{}, counter{}, counter{}, counter{}
	for i, r := range a.records {
		if i == 0 {
			f.Last = r.CreatedDateTime.UTC()
		}
		f.First = r.CreatedDateTime.UTC()
		reasons.add(strconv.Itoa(r.Status.ErrorCode) + " " + r.Status.FailureReason)
		sources.add(r.IPAddress)
		if loc := place(r.Location); loc != "" {
			locations.add(loc)
		}
		apps.add(cmp.Or(r.AppDisplayName, r.AppID))
		p := r.Protection
		if p == nil {
			continue
		}
		if p.SourceClass != "" {
			classes.add(p.SourceClass)
		}
		if r.Status.ErrorCode == int(aadsts.InvalidUserNameOrPassword) {
			a.wrong++
		}
		switch {
		case r.Status.ErrorCode == int(aadsts.IdsLocked) && p.IPBlocked:
			a.blocked++
		case r.Status.ErrorCode == int(aadsts.IdsLocked):
			a.locked++
			if p.PasswordCorrect == nil {
				f.UncheckedWhileLocked++
			} else if !*p.PasswordCorrect {
				f.KnownWrongWhileLocked++
			}
		case p.PasswordCorrect != nil && *p.PasswordCorrect:
			f.CorrectPassword++
		}
	}
	f.ByReason, f.BySource, f.ByLocation, f.ByApp, f.ByClass = reasons.sorted(), sources.sorted(), locations.sorted(),
		apps.sorted(), classes.sorted()
}

func place(l signinlog.Location) string {
	switch {
	case l.City != "" && l.CountryOrRegion != "":
		return l.City + ", " + l.CountryOrRegion
	case l.CountryOrRegion != "":
		return l.CountryOrRegion
	}
	return ""
}

// lockInfo describes the lock in force, or the latest one.
func (a *analysis) lockInfo() {
	if a.user == nil {
		return
	}
	info := &LockInfo{LockedNow: a.status.Locked}
	for _, b := range a.status.Budgets {
		switch {
		case b.Locked && info.Class == "":
			info.Class, info.Scope, info.EndsAt, info.Failures = b.Class, b.Scope, b.LockedUntil.UTC(), b.Failures
		case !b.Locked && b.Class != guard.ClassUnfamiliar:
			info.UnlockedBudgets = append(info.UnlockedBudgets, describeBudget(b))
		}
	}
	for _, l := range a.status.Lockouts { // newest first
		if l.StartedAt.Before(a.rep.Query.Since) && !info.LockedNow {
			break // locks before the window are history, not the cause
		}
		if info.Class == "" || (l.Class == info.Class && l.Scope == info.Scope) {
			info.Class, info.Scope, info.StartedAt = l.Class, l.Scope, l.StartedAt.UTC()
			if info.EndsAt.IsZero() {
				info.EndsAt = l.ExpiresAt.UTC()
			}
			if !info.LockedNow {
				info.ClearedAt, info.ClearedBy = l.ClearedAt.UTC(), l.ClearedBy
			}
			break
		}
	}
	if info.Class == "" && a.locked == 0 {
		return // not locked in the window: nothing to say
	}
	a.lockSeen = true
	a.rep.Lock = info
}

func describeBudget(b guard.BudgetStatus) string {
	if b.Scope == "" {
		return b.Class
	}
	return b.Class + " " + b.Scope
}

// blocks explains each address the user was refused from for the address:
// what blocked it then, and whether it is blocked now.
func (a *analysis) blocks(ctx context.Context) error {
	attempts := counter{}
	for _, r := range a.records {
		if r.Protection != nil && r.Protection.IPBlocked {
			attempts.add(r.IPAddress)
		}
	}
	for _, c := range attempts.sorted() {
		addr, err := netip.ParseAddr(c.Key)
		if err != nil {
			continue
		}
		v := a.deps.Guard.CheckIP(a.tenantID, addr)
		found := false
		for _, m := range v.Matches {
			if m.Action == "report" || m.Kind == "location" {
				continue
			}
			b := BlockInfo{Address: c.Key, Attempts: c.Count, InEffectNow: v.Blocked, Kind: m.Kind, Name: m.Name,
				Category: m.Category, Rule: m.Rule, Reason: m.Reason, Prefix: m.Prefix}
			if m.Kind == "block" {
				b.Kind = m.Origin
				if rec, err := a.deps.Store.GetIPBlock(ctx, m.Name); err == nil {
					b.Evidence = rec.Evidence
				}
			}
			a.rep.IPBlocks = append(a.rep.IPBlocks, b)
			found = true
		}
		if !found { // the block has ended (or was lifted) since
			a.rep.IPBlocks = append(a.rep.IPBlocks, a.pastBlock(c))
		}
	}
	return nil
}

// pastBlock is what the record said about a block no longer in force.
func (a *analysis) pastBlock(c Count) BlockInfo {
	b := BlockInfo{Address: c.Key, Attempts: c.Count}
	for _, r := range a.records {
		if r.IPAddress != c.Key || r.Protection == nil {
			continue
		}
		for _, m := range r.Protection.IPMatches {
			if m.Action != "report" && m.Kind != "location" {
				b.Kind, b.Name, b.Category, b.Rule, b.Reason, b.Prefix = cmp.Or(m.Origin, m.Kind), m.Name, m.Category, m.Rule, m.Reason, m.Prefix
				return b
			}
		}
	}
	return b
}

// counter counts keys and sorts them by count, then key.
type counter map[string]int

func (c counter) add(k string) { c[k]++ }

func (c counter) sorted() []Count {
	out := make([]Count, 0, len(c))
	for k, n := range c {
		out = append(out, Count{Key: k, Count: n})
	}
	slices.SortFunc(out, func(x, y Count) int { return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Key, y.Key)) })
	return out
}
