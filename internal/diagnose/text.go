package diagnose

import (
	"fmt"
	"io"
	"strings"
)

// WriteText renders the report for a person: the answer first, then the
// evidence, then what to do.
func (r Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	who := r.Query.User
	if r.User != nil {
		who = r.User.UserPrincipalName + " (" + r.User.DisplayName + ", " + r.User.ID + ")"
	}
	p("Diagnosis for %s, %s to %s\n\n", who, stamp(r.Query.Since), stamp(r.Query.Until))
	switch r.Cause {
	case CauseNoSuchUser, CauseNoFailures, CauseWrongPassword, CauseOther:
		p("Cause: %s\n%s\n", r.Cause, wrap(r.Summary, "  "))
	default:
		state := "no longer in effect"
		if r.InEffectNow {
			state = "IN EFFECT NOW"
		}
		p("Cause: %s (%s)\n%s\n", r.Cause, state, wrap(r.Summary, "  "))
	}
	writeFailures(w, r.Failures)
	writeLock(w, r.Lock)
	if len(r.IPBlocks) > 0 {
		p("\nBlocked addresses:\n")
		for _, b := range r.IPBlocks {
			now := "no longer blocked"
			if b.InEffectNow {
				now = "blocked now"
			}
			p("  %s: %s, %s; %s %s", b.Address, plural(b.Attempts, "attempt"), now, b.Kind, b.Name)
			for _, extra := range []string{b.Category, b.Rule, b.Reason, b.Evidence} {
				if extra != "" {
					p("; %s", extra)
				}
			}
			p("\n")
		}
	}
	if len(r.Patterns) > 0 {
		p("\nAttack patterns:\n")
		for _, pat := range r.Patterns {
			p("  %s: %s\n", pat.Kind, pat.Detail)
		}
	}
	p("\nChecks:\n")
	for _, c := range r.Checks {
		p("  %s: %s (%s)\n", c.Name, c.Result, c.Detail)
	}
	list(w, "What the user can do", r.UserCanDo)
	list(w, "What you can do, in this order", r.AdminCanDo)
}

func writeFailures(w io.Writer, f FailureStats) {
	if f.Total == 0 {
		return
	}
	more := ""
	if f.Truncated {
		more = " (the newest; there are more)"
	}
	fmt.Fprintf(w, "\nFailed sign-ins: %d%s, %s to %s\n", f.Total, more, stamp(f.First), stamp(f.Last))
	section(w, "By failure", f.ByReason)
	section(w, "By source address", f.BySource)
	section(w, "By location", f.ByLocation)
	section(w, "By application", f.ByApp)
	section(w, "By source class", f.ByClass)
	fmt.Fprintf(w, "  Correct password (refused for another reason): %d\n", f.CorrectPassword)
	if f.UncheckedWhileLocked+f.KnownWrongWhileLocked > 0 {
		fmt.Fprintf(w, "  While locked: %d attempts repeated a wrong password; %d used a password not seen before, which the lock "+
			"did not check (possibly the right one)\n", f.KnownWrongWhileLocked, f.UncheckedWhileLocked)
	}
}

func writeLock(w io.Writer, l *LockInfo) {
	if l == nil {
		return
	}
	fmt.Fprintf(w, "\nSmart lockout: locked now: %t", l.LockedNow)
	if l.Class != "" {
		fmt.Fprintf(w, "; budget %s", strings.TrimSpace(l.Class+" "+l.Scope))
	}
	if !l.StartedAt.IsZero() {
		fmt.Fprintf(w, "; locked at %s", stamp(l.StartedAt))
	}
	if !l.EndsAt.IsZero() {
		fmt.Fprintf(w, "; ends %s", stamp(l.EndsAt))
	}
	if !l.ClearedAt.IsZero() {
		fmt.Fprintf(w, "; unlocked by %s at %s", l.ClearedBy, stamp(l.ClearedAt))
	}
	fmt.Fprintln(w)
	if len(l.UnlockedBudgets) > 0 {
		fmt.Fprintf(w, "  Still open to the user: %s\n", strings.Join(l.UnlockedBudgets, ", "))
	}
}

func section(w io.Writer, title string, counts []Count) {
	if len(counts) == 0 {
		return
	}
	fmt.Fprintf(w, "  %s:\n", title)
	for i, c := range counts {
		if i == 5 {
			fmt.Fprintf(w, "    ... and %d more\n", len(counts)-5)
			break
		}
		fmt.Fprintf(w, "    %5d  %s\n", c.Count, c.Key)
	}
}

func list(w io.Writer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for i, s := range items {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s)
	}
}

// wrap indents a paragraph, breaking it at about 100 columns.
func wrap(s, indent string) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(s) {
		if len(line)+len(word) > 100 && line != indent {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		}
		line += word + " "
	}
	b.WriteString(strings.TrimRight(line, " "))
	return b.String()
}
