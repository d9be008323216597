package oidc

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/webui"
)

// ErrorReference is an AADSTS code's catalogue entry as /error and
// `portcullis errors` show it.
type ErrorReference struct {
	Code          int                  `json:"code"`
	Name          string               `json:"name"`
	Description   string               `json:"description"`
	FailureReason string               `json:"failureReason"`
	UserMessage   string               `json:"userMessage"`
	OAuthError    string               `json:"oauthError"`
	HTTPStatus    int                  `json:"httpStatus"`
	Reasons       []ErrorReferenceItem `json:"reasons"`
}

// ErrorReferenceItem is one failure reason with its remediation steps.
type ErrorReferenceItem struct {
	FailureReason string   `json:"failureReason"`
	Remediation   []string `json:"remediation"`
}

// LookupError parses "50053" or "AADSTS50053" and returns its reference.
func LookupError(raw string) (ErrorReference, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(raw)), "AADSTS"))
	if err != nil {
		return ErrorReference{}, false
	}
	entry, ok := aadsts.Lookup(aadsts.Code(n))
	if !ok {
		return ErrorReference{}, false
	}
	// The description's blanks (the client ID, the URI...) are filled per
	// request; here they read as "…".
	ref := ErrorReference{Code: int(entry.Code), Name: entry.Name, Description: strings.ReplaceAll(entry.Description, "%s", "…"),
		FailureReason: entry.FailureReason, UserMessage: entry.UserMessage, OAuthError: entry.OAuthError,
		HTTPStatus: entry.HTTPStatus}
	for _, r := range aadsts.Reasons(entry.Code) {
		ref.Reasons = append(ref.Reasons, ErrorReferenceItem{FailureReason: r.FailureReason, Remediation: r.Remediation})
	}
	return ref, true
}

// ErrorPage serves GET /error?code=N, the error_uri of every error: the
// catalogue entry with what to do about each failure reason, as JSON
// (Accept: application/json) or a readable page.
func ErrorPage(w http.ResponseWriter, r *http.Request) {
	ref, ok := LookupError(r.URL.Query().Get("code"))
	if !ok {
		httpx.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "unknown error code; pass ?code=50053 for example"})
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		httpx.WriteJSON(w, http.StatusOK, ref)
		return
	}
	page := webui.ErrorCode{Code: "AADSTS" + strconv.Itoa(ref.Code), Name: ref.Name, Description: ref.Description,
		UserMessage: ref.UserMessage}
	for _, item := range ref.Reasons {
		page.Reasons = append(page.Reasons, webui.ErrorReason{FailureReason: item.FailureReason, Remediation: item.Remediation})
	}
	w.Header().Set("Content-Security-Policy", pageCSP)
	_ = webui.Render(w, http.StatusOK, "errorcode", page)
}
