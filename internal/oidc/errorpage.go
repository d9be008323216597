package oidc

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/httpx"
)

var errorPageTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Code}} {{.Name}}</title></head>
<body><h1>{{.Code}}: {{.Name}}</h1><p>{{.Description}}</p>
<h2>Failure reason in the sign-in log</h2><p>{{.FailureReason}}</p>
<h2>What the person signing in sees</h2><p>{{.UserMessage}}</p></body></html>
`))

// ErrorPage serves GET /error?code=N, the error_uri of every error: the
// catalogue entry as JSON (Accept: application/json) or a readable page.
func ErrorPage(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimPrefix(strings.ToUpper(r.URL.Query().Get("code")), "AADSTS")
	n, err := strconv.Atoi(raw)
	entry, ok := aadsts.Lookup(aadsts.Code(n))
	if err != nil || !ok {
		httpx.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "unknown error code; pass ?code=50053 for example"})
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{
			"code": int(entry.Code), "name": entry.Name, "description": aadsts.Describe(entry.Code),
			"failureReason": entry.FailureReason, "userMessage": entry.UserMessage, "oauthError": entry.OAuthError,
		})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = errorPageTmpl.Execute(w, map[string]any{"Code": entry.Code.String(), "Name": entry.Name,
		"Description": aadsts.Describe(entry.Code), "FailureReason": entry.FailureReason, "UserMessage": entry.UserMessage})
}
