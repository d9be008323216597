package diagnose

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// patterns looks for password spray (the busiest failing addresses failing
// on other accounts too) and targeted guessing (many addresses on this one).
func (a *analysis) patterns(ctx context.Context) error {
	sources := a.rep.Failures.BySource
	for _, c := range sources[:min(len(sources), sprayProbes)] {
		rows, err := a.deps.Store.FindSignIns(ctx, store.SignInFilter{TenantID: a.tenantID, Limit: maxRecords,
			Where: and(eq("ipAddress", c.Key), failed(), after(a.rep.Query.Since))})
		if err != nil {
			return err
		}
		others := map[string]bool{}
		for _, row := range rows {
			if name := strings.ToLower(row.UPN); name != "" && !a.isSubject(row.UserID, row.UPN) {
				others[name] = true
			}
		}
		if len(others) >= sprayAccounts {
			a.rep.Patterns = append(a.rep.Patterns, Pattern{Kind: PatternPasswordSpray, Addresses: []string{c.Key},
				Accounts: len(others), Detail: fmt.Sprintf("%s also failed on %d other accounts since %s: password spray",
					c.Key, len(others), stamp(a.rep.Query.Since))})
		}
	}
	if len(sources) >= targetedSources {
		addrs := make([]string, 0, len(sources))
		for _, c := range sources {
			addrs = append(addrs, c.Key)
		}
		a.rep.Patterns = append(a.rep.Patterns, Pattern{Kind: PatternTargetedGuesses, Addresses: addrs,
			Detail: fmt.Sprintf("%d different addresses failed on this account: someone is guessing its password", len(sources))})
	}
	return nil
}

// isSubject reports whether a record is about the account diagnosed (a
// refusal for the address carries only the name typed).
func (a *analysis) isSubject(userID, upn string) bool {
	switch {
	case a.user != nil && userID != "":
		return userID == a.user.ID
	case a.user != nil:
		return strings.EqualFold(upn, a.user.UserPrincipalName)
	}
	return strings.EqualFold(upn, a.typed)
}

// checks are the guide's manual checks: trusted location, threat feeds,
// and other suspicious activity on the account.
func (a *analysis) checks(ctx context.Context) error {
	var trusted, feeds []string
	for _, c := range a.rep.Failures.BySource {
		addr, err := netip.ParseAddr(c.Key)
		if err != nil {
			continue
		}
		v := a.deps.Guard.CheckIP(a.tenantID, addr)
		for _, m := range v.Matches {
			switch {
			case m.Kind == "location" && m.Trusted:
				trusted = append(trusted, c.Key+" ("+m.Name+")")
			case m.Kind == "feed":
				feeds = append(feeds, c.Key+" ("+m.Name+", "+m.Action+")")
			}
		}
	}
	a.rep.Checks = append(a.rep.Checks, check("Failing addresses in a trusted location", trusted,
		"none of the failing addresses is in a trusted named location"))
	a.rep.Checks = append(a.rep.Checks, check("Failing addresses on a threat feed", feeds,
		"no failing address is on a configured feed"))
	suspicious, err := a.suspiciousSuccesses(ctx)
	if err != nil {
		return err
	}
	a.rep.Checks = append(a.rep.Checks, suspicious)
	return nil
}

func check(name string, found []string, none string) Check {
	if len(found) == 0 {
		return Check{Name: name, Result: "no", Detail: none}
	}
	return Check{Name: name, Result: "yes", Detail: strings.Join(found, ", ")}
}

// suspiciousSuccesses: did the account sign in successfully from an
// address that attacked other accounts?
func (a *analysis) suspiciousSuccesses(ctx context.Context) (Check, error) {
	c := Check{Name: "Other suspicious activity on the account", Result: "no"}
	if a.user == nil {
		c.Detail = "there is no such account"
		return c, nil
	}
	rows, err := a.deps.Store.FindSignIns(ctx, store.SignInFilter{TenantID: a.tenantID, Limit: maxRecords,
		Where: and(eq("userId", a.user.ID), succeeded(), after(a.rep.Query.Since))})
	if err != nil {
		return c, err
	}
	attackers := map[string]bool{}
	for _, p := range a.rep.Patterns {
		if p.Kind == PatternPasswordSpray {
			for _, addr := range p.Addresses {
				attackers[addr] = true
			}
		}
	}
	addresses := map[string]bool{}
	var bad []string
	for _, row := range rows {
		addresses[row.IPAddress] = true
		if attackers[row.IPAddress] && !slices.Contains(bad, row.IPAddress) {
			bad = append(bad, row.IPAddress)
		}
	}
	if len(bad) > 0 {
		c.Result = "yes"
		c.Detail = "successful sign-in from " + strings.Join(bad, ", ") + ", which attacked other accounts: treat the password as known"
		return c, nil
	}
	c.Detail = fmt.Sprintf("%d successful sign-ins from %d addresses in the window, none from an attacking address",
		len(rows), len(addresses))
	return c, nil
}

// cause names what stops the user and whether it still does.
func (a *analysis) cause() {
	rep, f := a.rep, &a.rep.Failures
	blockedNow := slices.ContainsFunc(rep.IPBlocks, func(b BlockInfo) bool { return b.InEffectNow })
	lockedNow := rep.Lock != nil && rep.Lock.LockedNow
	locked, blocked := a.locked > 0 || lockedNow || a.lockSeen, a.blocked > 0
	switch {
	case a.user == nil:
		rep.Cause = CauseNoSuchUser
		rep.Summary = fmt.Sprintf("No user named %q exists in this tenant. %d sign-ins named it since %s; each was told only "+
			"that the account or password is incorrect.", a.typed, f.Total, stamp(rep.Query.Since))
	case locked && blocked:
		rep.Cause, rep.InEffectNow = CauseLockedAndBlocked, lockedNow || blockedNow
		rep.Summary = a.lockSentence(lockedNow) + " " + a.blockSentence(blockedNow)
	case locked:
		rep.Cause, rep.InEffectNow = CauseLocked, lockedNow
		rep.Summary = a.lockSentence(lockedNow)
	case blocked:
		rep.Cause, rep.InEffectNow = CauseIPBlocked, blockedNow
		rep.Summary = a.blockSentence(blockedNow)
	case !a.user.AccountEnabled:
		rep.Cause, rep.InEffectNow = CauseDisabled, true
		rep.Summary = fmt.Sprintf("%s is disabled (AADSTS50057); %d sign-ins with the right password were refused for it.",
			a.user.UserPrincipalName, f.CorrectPassword)
	case a.user.ForceChangePasswordNextSignIn:
		rep.Cause, rep.InEffectNow = CausePasswordChange, true
		rep.Summary = fmt.Sprintf("%s must choose a new password (AADSTS50055) before signing in; the password grant "+
			"cannot do that, a browser sign-in asks for it.", a.user.UserPrincipalName)
	case f.Total == 0:
		rep.Cause = CauseNoFailures
		rep.Summary = fmt.Sprintf("No failed sign-ins of %s since %s, and the account is not locked.",
			a.user.UserPrincipalName, stamp(rep.Query.Since))
	case strings.HasPrefix(f.ByReason[0].Key, "50126 "):
		rep.Cause = CauseWrongPassword
		rep.Summary = fmt.Sprintf("%s's %d failed sign-ins since %s were wrong passwords (AADSTS50126); the account is not locked.",
			a.user.UserPrincipalName, f.Total, stamp(rep.Query.Since))
	default:
		rep.Cause = CauseOther
		rep.Summary = fmt.Sprintf("%s's most frequent failure since %s: %s (%d times).", a.user.UserPrincipalName,
			stamp(rep.Query.Since), f.ByReason[0].Key, f.ByReason[0].Count)
	}
}

func (a *analysis) lockSentence(now bool) string {
	l, name := a.rep.Lock, a.user.UserPrincipalName
	if l == nil {
		return name + " was refused by smart lockout (IdsLocked, AADSTS50053)."
	}
	what := fmt.Sprintf("smart lockout (IdsLocked, AADSTS50053) locked %s for %s sources", name, l.Class)
	if !l.StartedAt.IsZero() {
		what += " at " + stamp(l.StartedAt)
	}
	switch {
	case now:
		return fmt.Sprintf("Locked now: %s; the lock ends at %s.", what, stamp(l.EndsAt))
	case !l.ClearedAt.IsZero():
		return fmt.Sprintf("No longer locked: %s; %s unlocked it at %s.", what, l.ClearedBy, stamp(l.ClearedAt))
	}
	return fmt.Sprintf("No longer locked: %s; the lock ended at %s.", what, stamp(l.EndsAt))
}

func (a *analysis) blockSentence(now bool) string {
	var parts []string
	for _, b := range a.rep.IPBlocks {
		by := b.Kind
		switch {
		case b.Kind == "feed":
			by = "threat feed " + b.Name
		case b.Rule != "":
			by = "automatic " + b.Rule + " detection"
		case b.Kind == "admin":
			by = "an administrator's block"
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %s)", b.Address, plural(b.Attempts, "attempt"), by))
	}
	state := "No longer blocked"
	if now {
		state = "Blocked now"
	}
	return fmt.Sprintf("%s: sign-ins of %s came from addresses with malicious activity (AADSTS50053): %s.", state,
		a.user.UserPrincipalName, strings.Join(parts, "; "))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// sprayAddresses are the addresses named by a spray pattern.
func (a *analysis) sprayAddresses() []string {
	var out []string
	for _, p := range a.rep.Patterns {
		if p.Kind == PatternPasswordSpray {
			out = append(out, p.Addresses...)
		}
	}
	return out
}

// networkOf is the /24 (/64) of an address, for a trusted location.
func networkOf(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	return guard.NetworkOf(ip)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
