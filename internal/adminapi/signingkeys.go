package adminapi

import (
	"net/http"
	"time"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// SigningKey is a token-signing key as the API and the CLI show it: never
// any private material.
type SigningKey struct {
	KeyID          string `json:"kid"`
	Algorithm      string `json:"alg"`
	Status         string `json:"status"` // active, "retired, published", "retired, unpublished"
	CreatedAt      string `json:"createdDateTime"`
	RetiredAt      string `json:"retiredDateTime,omitempty"`
	PublishedUntil string `json:"publishedUntil,omitempty"`
}

// SigningKeyView describes k as of now.
func SigningKeyView(k store.SigningKey, now time.Time) SigningKey {
	out := SigningKey{KeyID: k.ID, Algorithm: k.Algorithm, Status: "active", CreatedAt: graphTimeOrEmpty(k.CreatedAt)}
	if !k.RetiredAt.IsZero() {
		out.Status, out.RetiredAt, out.PublishedUntil = "retired, published", graphTimeOrEmpty(k.RetiredAt), graphTimeOrEmpty(k.PublishUntil)
		if now.After(k.PublishUntil) {
			out.Status = "retired, unpublished"
		}
	}
	return out
}

func graphTimeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (a *API) listSigningKeys(w http.ResponseWriter, r *http.Request, _ *principal) {
	keys, err := a.store.ListKeys(r.Context())
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := make([]SigningKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, SigningKeyView(k, a.now()))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

// rotateSigningKeys makes a fresh key active for every algorithm. This
// process signs with the new keys at once; other processes on the same
// database within oidc's refresh interval, which the overlap covers.
func (a *API) rotateSigningKeys(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.ContentLength > 0 {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "rotate takes no request body.")
		return
	}
	rotated, err := oidc.RotateKeys(ctxDetached(r), a.store, a.now(), a.keyOverlap)
	if len(rotated) > 0 {
		a.keys.Reload()
	}
	for _, k := range rotated {
		a.audit(r, p, auditEntry{category: "KeyManagement", activity: "Rotate signing key", operation: "Add",
			targets: []auditTarget{{ID: k.ID, DisplayName: k.Algorithm + " token signing key", Type: "SigningKey"}}})
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := make([]SigningKey, 0, len(rotated))
	for _, k := range rotated {
		out = append(out, SigningKeyView(k, a.now()))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}
