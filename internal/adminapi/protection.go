package adminapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// lockoutPolicy is the tenant's smart lockout policy, named like Entra's
// password protection settings (seconds, not Go durations).
type lockoutPolicy struct {
	LockoutThreshold             int  `json:"lockoutThreshold"`
	LockoutDurationInSeconds     int  `json:"lockoutDurationInSeconds"`
	MaxLockoutDurationInSeconds  int  `json:"maxLockoutDurationInSeconds"`
	ObservationWindowInSeconds   int  `json:"observationWindowInSeconds"`
	FamiliarNetworkDays          int  `json:"familiarNetworkDays"`
	DeviceCookieLockoutThreshold int  `json:"deviceCookieLockoutThreshold"`
	IsTenantOverride             bool `json:"isTenantOverride"`
}

func toPolicy(p store.LockoutPolicy, override bool) lockoutPolicy {
	return lockoutPolicy{LockoutThreshold: p.Threshold, LockoutDurationInSeconds: int(p.Duration / time.Second),
		MaxLockoutDurationInSeconds: int(p.MaxDuration / time.Second), ObservationWindowInSeconds: int(p.ObservationWindow / time.Second),
		FamiliarNetworkDays: p.FamiliarNetworkDays, DeviceCookieLockoutThreshold: p.DeviceCookieThreshold, IsTenantOverride: override}
}

// policyEtag versions the effective policy by its content.
func policyEtag(p lockoutPolicy) string {
	b, _ := json.Marshal(p)
	h := sha256.Sum256(b)
	return `W/"` + base64.RawURLEncoding.EncodeToString(h[:12]) + `"`
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, p *principal) {
	stored, err := a.store.GetLockoutPolicy(r.Context(), p.tenantID)
	found := err == nil
	if errors.Is(err, store.ErrNotFound) {
		stored, err = a.guard.DefaultPolicy(), nil
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := toPolicy(stored, found)
	w.Header().Set("ETag", policyEtag(out))
	httpx.WriteJSON(w, http.StatusOK, out)
}

type patchPolicyRequest struct {
	LockoutThreshold             *int `json:"lockoutThreshold"`
	LockoutDurationInSeconds     *int `json:"lockoutDurationInSeconds"`
	MaxLockoutDurationInSeconds  *int `json:"maxLockoutDurationInSeconds"`
	ObservationWindowInSeconds   *int `json:"observationWindowInSeconds"`
	FamiliarNetworkDays          *int `json:"familiarNetworkDays"`
	DeviceCookieLockoutThreshold *int `json:"deviceCookieLockoutThreshold"`
}

func (req patchPolicyRequest) apply(p *store.LockoutPolicy) {
	seconds := func(v *int, d *time.Duration) {
		if v != nil {
			*d = time.Duration(*v) * time.Second
		}
	}
	setInt := func(v *int, dst *int) {
		if v != nil {
			*dst = *v
		}
	}
	setInt(req.LockoutThreshold, &p.Threshold)
	seconds(req.LockoutDurationInSeconds, &p.Duration)
	seconds(req.MaxLockoutDurationInSeconds, &p.MaxDuration)
	seconds(req.ObservationWindowInSeconds, &p.ObservationWindow)
	setInt(req.FamiliarNetworkDays, &p.FamiliarNetworkDays)
	setInt(req.DeviceCookieLockoutThreshold, &p.DeviceCookieThreshold)
}

// errPolicyInvalid carries the validation problems out of the update.
type errPolicyInvalid struct{ err error }

func (e errPolicyInvalid) Error() string { return e.err.Error() }

// errPolicyChanged aborts an update whose If-Match names another version.
var errPolicyChanged = errors.New("the lockout policy was changed by someone else")

// patchPolicy changes the given fields, validates the whole policy (every
// problem reported at once) and stores it as the tenant's override. The
// read, the If-Match comparison and the write are one store transaction, so
// two administrators changing different fields at once both land, and one
// holding an old ETag gets 412.
func (a *API) patchPolicy(w http.ResponseWriter, r *http.Request, p *principal) {
	var req patchPolicyRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	ifMatch := strings.TrimPrefix(r.Header.Get("If-Match"), "W/")
	var before lockoutPolicy
	next, err := a.store.UpdateLockoutPolicy(r.Context(), p.tenantID, func(cur store.LockoutPolicy, found bool) (store.LockoutPolicy, error) {
		if !found {
			cur = a.guard.DefaultPolicy()
		}
		before = toPolicy(cur, found)
		if ifMatch != "" && ifMatch != "*" && ifMatch != strings.TrimPrefix(policyEtag(before), "W/") {
			return cur, errPolicyChanged
		}
		req.apply(&cur)
		if err := guard.ValidatePolicy(cur); err != nil {
			return cur, errPolicyInvalid{err}
		}
		return cur, nil
	})
	var invalid errPolicyInvalid
	switch {
	case errors.As(err, &invalid):
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Invalid lockout policy: "+strings.ReplaceAll(invalid.Error(), "\n", "; "))
		return
	case errors.Is(err, errPolicyChanged):
		writeError(w, r, http.StatusPreconditionFailed, codePreconditionFailed, "The lockout policy was changed by someone else; read it again.")
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	a.guard.ForgetPolicy(p.tenantID)
	after := toPolicy(next, true)
	a.audit(r, p, auditEntry{category: "Policy", activity: "Update lockout policy", operation: "Update",
		targets:  []auditTarget{{ID: p.tenantID, DisplayName: "Smart lockout policy", Type: "Policy"}},
		modified: policyChanges(before, after)})
	w.Header().Set("ETag", policyEtag(after))
	httpx.WriteJSON(w, http.StatusOK, after)
}

func policyChanges(a, b lockoutPolicy) []modifiedProperty {
	pairs := []struct {
		name string
		x, y int
	}{{"LockoutThreshold", a.LockoutThreshold, b.LockoutThreshold},
		{"LockoutDurationInSeconds", a.LockoutDurationInSeconds, b.LockoutDurationInSeconds},
		{"MaxLockoutDurationInSeconds", a.MaxLockoutDurationInSeconds, b.MaxLockoutDurationInSeconds},
		{"ObservationWindowInSeconds", a.ObservationWindowInSeconds, b.ObservationWindowInSeconds},
		{"FamiliarNetworkDays", a.FamiliarNetworkDays, b.FamiliarNetworkDays},
		{"DeviceCookieLockoutThreshold", a.DeviceCookieLockoutThreshold, b.DeviceCookieLockoutThreshold}}
	out := []modifiedProperty{}
	for _, p := range pairs {
		if p.x != p.y {
			out = append(out, modifiedProperty{DisplayName: p.name, OldValue: strconv.Itoa(p.x), NewValue: strconv.Itoa(p.y)})
		}
	}
	return out
}

func (a *API) listBlocks(w http.ResponseWriter, r *http.Request, _ *principal) {
	active := false
	if f := r.URL.Query().Get("$filter"); f != "" {
		if strings.TrimSpace(f) != "active eq true" {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "Unsupported $filter: only active eq true is supported.")
			return
		}
		active = true
	}
	blocks, err := a.store.ListIPBlocks(r.Context(), active, a.now())
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if blocks == nil {
		blocks = []store.IPBlock{}
	}
	httpx.WriteJSON(w, http.StatusOK, collection[store.IPBlock]{Context: a.odataContext("portcullis/ipBlocks"), Value: blocks})
}

type createBlockRequest struct {
	Prefix          string `json:"prefix"`
	Reason          string `json:"reason"`
	ExpiresDateTime string `json:"expiresDateTime"`
}

func (a *API) createBlock(w http.ResponseWriter, r *http.Request, p *principal) {
	var req createBlockRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	prefix, err := parsePrefixOrAddr(req.Prefix)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "prefix: "+err.Error())
		return
	}
	var expires time.Time
	if req.ExpiresDateTime != "" {
		if expires, err = time.Parse(time.RFC3339, req.ExpiresDateTime); err != nil || !expires.After(a.now()) {
			writeError(w, r, http.StatusBadRequest, codeBadRequest, "expiresDateTime must be a future RFC 3339 time.")
			return
		}
	}
	if strings.TrimSpace(req.Reason) == "" || len(req.Reason) > 500 {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "reason is required (at most 500 characters).")
		return
	}
	b, err := a.guard.BlockIP(r.Context(), prefix, req.Reason, principalName(p), expires)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit(r, p, auditEntry{category: "IPProtection", activity: "Block IP address", operation: "Add",
		targets: []auditTarget{{ID: b.ID, DisplayName: b.Prefix, Type: "IPBlock"}}, details: []keyValue{{Key: "reason", Value: req.Reason}}})
	w.Header().Set("Location", a.publicURL+"/v1.0/portcullis/ipBlocks/"+b.ID)
	httpx.WriteJSON(w, http.StatusCreated, b)
}

func (a *API) deleteBlock(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	reason := r.URL.Query().Get("reason")
	err := a.guard.UnblockIP(r.Context(), id, principalName(p), reason)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, codeNotFound, "IP block '"+id+"' does not exist.")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit(r, p, auditEntry{category: "IPProtection", activity: "Unblock IP address", operation: "Delete",
		targets: []auditTarget{{ID: id, Type: "IPBlock"}}, details: []keyValue{{Key: "reason", Value: reason}}})
	w.WriteHeader(http.StatusNoContent)
}

// parsePrefixOrAddr accepts "203.0.113.7" or "203.0.113.0/24".
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

func principalName(p *principal) string {
	if p.app {
		return "app:" + p.id
	}
	return p.upn
}

// ipVerdict is the running server's answer for one address: what every
// sign-in from it meets right now, with the full block records.
type ipVerdict struct {
	IP      string `json:"ip"`
	Verdict string `json:"verdict"` // allowed, allowed (trusted location), blocked
	guard.IPVerdict
	BlockRecords []store.IPBlock `json:"blockRecords"`
}

// checkIP explains the verdict for an address: every feed, block record and
// named location that matches, as the token endpoint sees them now (with
// the feeds as loaded, which the offline CLI can only approximate).
func (a *API) checkIP(w http.ResponseWriter, r *http.Request, p *principal) {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "Not an IP address: "+r.PathValue("ip"))
		return
	}
	ip = ip.WithZone("").Unmap()
	v := a.guard.CheckIP(p.tenantID, ip)
	if v.Matches == nil {
		v.Matches = []guard.IPMatch{}
	}
	out := ipVerdict{IP: ip.String(), Verdict: v.Summary(), IPVerdict: v, BlockRecords: []store.IPBlock{}}
	for _, m := range v.Matches {
		if m.Kind != "block" {
			continue
		}
		if b, err := a.store.GetIPBlock(r.Context(), m.Name); err == nil {
			out.BlockRecords = append(out.BlockRecords, b)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
