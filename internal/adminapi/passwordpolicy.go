package adminapi

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/httpx"
)

// passwordPolicy is the tenant's password policy as the API shows it. The
// minimum length comes from the configuration; the banned terms are the
// tenant's own (Entra's "custom banned password list").
type passwordPolicy struct {
	ODataEtag           string   `json:"@odata.etag"`
	MinimumLength       int      `json:"minimumLength"`
	MaximumBytes        int      `json:"maximumBytes"`
	BannedPasswordTerms []string `json:"bannedPasswordTerms"`
}

// termsEtag versions the banned terms by their content (sorted, as stored):
// equal lists have equal tags whoever wrote them.
func termsEtag(terms []string) string {
	h := sha256.Sum256([]byte(strings.Join(terms, "\n")))
	return `W/"` + base64.RawURLEncoding.EncodeToString(h[:12]) + `"`
}

func (a *API) toPasswordPolicy(terms []string) passwordPolicy {
	pol := a.dir.Policy()
	if pol.MinLength <= 0 {
		pol.MinLength = password.DefaultMinLength
	}
	if pol.MaxBytes <= 0 {
		pol.MaxBytes = password.DefaultMaxBytes
	}
	if terms == nil {
		terms = []string{}
	}
	return passwordPolicy{ODataEtag: termsEtag(terms), MinimumLength: pol.MinLength, MaximumBytes: pol.MaxBytes,
		BannedPasswordTerms: terms}
}

func (a *API) getPasswordPolicy(w http.ResponseWriter, r *http.Request, p *principal) {
	t, err := a.store.GetTenant(r.Context(), p.tenantID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := a.toPasswordPolicy(slices.Sorted(slices.Values(t.BannedPasswordTerms)))
	w.Header().Set("ETag", out.ODataEtag)
	httpx.WriteJSON(w, http.StatusOK, out)
}

type patchPasswordPolicyRequest struct {
	BannedPasswordTerms *[]string `json:"bannedPasswordTerms"`
}

// errTermsChanged aborts an update whose If-Match names another version.
var errTermsChanged = errors.New("the banned terms were changed by someone else")

// patchPasswordPolicy replaces the banned terms. With If-Match the
// replacement applies only to the version the caller read (412 otherwise):
// the comparison happens inside the store's update, so a concurrent change
// cannot slip between check and write.
func (a *API) patchPasswordPolicy(w http.ResponseWriter, r *http.Request, p *principal) {
	var req patchPasswordPolicyRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	if req.BannedPasswordTerms == nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "bannedPasswordTerms is required (the minimum length is set in the configuration).")
		return
	}
	t, err := a.store.GetTenant(r.Context(), p.tenantID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	ifMatch := r.Header.Get("If-Match")
	before, after, err := a.dir.UpdateBannedPasswordTerms(r.Context(), t, func(current []string) ([]string, error) {
		if ifMatch != "" && ifMatch != "*" && strings.TrimPrefix(ifMatch, "W/") != strings.TrimPrefix(termsEtag(current), "W/") {
			return nil, errTermsChanged
		}
		return *req.BannedPasswordTerms, nil
	})
	switch {
	case errors.Is(err, errTermsChanged):
		writeError(w, r, http.StatusPreconditionFailed, codePreconditionFailed, "The banned terms were changed by someone else; read them again.")
		return
	case errors.Is(err, directory.ErrInvalid):
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	if added, removed := TermsDiff(before, after); len(added)+len(removed) > 0 {
		a.audit(r, p, auditEntry{category: "Policy", activity: "Update banned password terms", operation: "Update",
			targets: []auditTarget{{ID: p.tenantID, DisplayName: "Password protection", Type: "Policy"}},
			modified: []modifiedProperty{
				{DisplayName: "BannedPasswordTermCount", OldValue: strconv.Itoa(len(before)), NewValue: strconv.Itoa(len(after))},
				{DisplayName: "BannedPasswordTermsAdded", NewValue: strings.Join(added, ", ")},
				{DisplayName: "BannedPasswordTermsRemoved", OldValue: strings.Join(removed, ", ")}}})
	}
	out := a.toPasswordPolicy(after)
	w.Header().Set("ETag", out.ODataEtag)
	httpx.WriteJSON(w, http.StatusOK, out)
}

// TermsDiff lists what after adds to before and what it drops (both sorted).
func TermsDiff(before, after []string) (added, removed []string) {
	for _, t := range after {
		if _, found := slices.BinarySearch(before, t); !found {
			added = append(added, t)
		}
	}
	for _, t := range before {
		if _, found := slices.BinarySearch(after, t); !found {
			removed = append(removed, t)
		}
	}
	return added, removed
}
