package diagnose

import (
	"fmt"
	"strconv"
	"strings"
)

// actions lists what the user and the administrator can do, the
// administrator's in the guide's order: unlock, reset the password, trust a
// location, unblock an address, educate the user.
func (a *analysis) actions() {
	rep := a.rep
	if a.user == nil {
		a.noSuchUserActions()
		return
	}
	upn := quoteArg(a.user.UserPrincipalName)
	lockedNow := rep.Lock != nil && rep.Lock.LockedNow
	spray := a.sprayAddresses()
	attacked := len(rep.Patterns) > 0
	user := func(s string, args ...any) { rep.UserCanDo = append(rep.UserCanDo, fmt.Sprintf(s, args...)) }
	admin := func(s string, args ...any) { rep.AdminCanDo = append(rep.AdminCanDo, fmt.Sprintf(s, args...)) }

	switch rep.Cause {
	case CauseDisabled:
		user("Contact your administrator: the account is disabled.")
		admin("See who disabled the account and why: portcullis audit list --target %s", upn)
		admin("Enable it if it should sign in: portcullis users enable %s", upn)
		return
	case CausePasswordChange:
		user("Sign in with a browser and choose a new password when asked.")
		admin("If the user's app cannot show a password change (password grant), set a new password: portcullis users set-password %s", upn)
		return
	case CauseNoFailures:
		user("Sign in again; nothing stops the account now.")
		return
	}
	guessed := attacked && a.wrong > 0 // an attacker's passwords were checked against this account
	if lockedNow {
		user("Wait until %s, when the lock ends.", stamp(rep.Lock.EndsAt))
		user("Sign in from a browser or network where you signed in before: it has its own allowance and is not locked.")
	}
	if a.blockedNow() {
		user("Sign in from another network: the address you used is blocked.")
	}
	if a.wrong > 0 || a.lockSeen {
		user("If you forgot your password, ask your helpdesk to reset it.")
	}

	if lockedNow {
		admin("Unlock the account: portcullis users unlock %s --reason %s", upn, quoteArg("diagnosed: "+rep.Cause))
	}
	if guessed || rep.Cause == CauseWrongPassword || lockedNow {
		why := "if the user may have forgotten it, or someone else may know it"
		if guessed {
			why = "someone is guessing it"
		}
		admin("Reset the password (%s): portcullis users set-password %s --force-change", why, upn)
	}
	if top := a.rep.Failures.BySource; len(top) > 0 && !attacked && (lockedNow || rep.Cause == CauseLocked) {
		admin("If %s is the user's own office network, trust it (it then has its own lockout allowance and is never "+
			"blocked automatically): portcullis locations add --name Office --cidr %s --trusted", networkOf(top[0].Key), networkOf(top[0].Key))
	}
	for _, b := range rep.IPBlocks {
		if !b.InEffectNow || contains(spray, b.Address) {
			continue
		}
		switch b.Kind {
		case "feed":
			admin("%s is on threat feed %s; if the network is yours, trust it (feeds never block trusted locations): "+
				"portcullis locations add --name %s --cidr %s --trusted", b.Address, b.Name, quoteArg("Office"), networkOf(b.Address))
		default:
			admin("If blocking %s was a false positive, lift the block: portcullis ips unblock %s --reason %s", b.Address,
				b.Name, quoteArg("false positive"))
		}
	}
	for _, addr := range spray {
		if a.blockedAddress(addr) {
			admin("%s is blocked now; if the spray goes on, keep it blocked longer: portcullis ips block %s --reason %s --expires 720h",
				addr, addr, quoteArg("password spray"))
			continue
		}
		admin("Block the spraying address %s for everyone: portcullis ips block %s --reason %s", addr, addr,
			quoteArg("password spray"))
	}
	if !attacked && (a.locked > 0 || a.lockSeen) {
		admin("Tell the user that repeated wrong passwords lock the account, and that a password manager avoids them.")
	}
}

func (a *analysis) blockedAddress(addr string) bool {
	for _, b := range a.rep.IPBlocks {
		if b.InEffectNow && b.Address == addr {
			return true
		}
	}
	return false
}

func (a *analysis) blockedNow() bool {
	for _, b := range a.rep.IPBlocks {
		if b.InEffectNow {
			return true
		}
	}
	return false
}

func (a *analysis) noSuchUserActions() {
	rep := a.rep
	rep.AdminCanDo = append(rep.AdminCanDo, "Check the spelling against the directory: portcullis users list",
		fmt.Sprintf("If the account should exist, create it: portcullis users add --upn %s --display-name NAME", quoteArg(a.typed)))
	for _, addr := range a.sprayAddresses() {
		rep.AdminCanDo = append(rep.AdminCanDo, fmt.Sprintf("Block the spraying address %s: portcullis ips block %s --reason %s",
			addr, addr, quoteArg("password spray")))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// quoteArg quotes a command-line argument when the shell needs it.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'$`\\!*?;&|<>()[]{}#~") {
		return s
	}
	return strconv.Quote(s)
}
