// Package webui renders the hosted sign-in pages: server-side html/template
// with embedded templates and one stylesheet, no JavaScript, so the pages
// work in any browser and under a Content-Security-Policy that forbids
// inline scripts and styles. It knows nothing of the protocol: handlers in
// package oidc decide what to show and pass the data.
package webui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/staticfiles"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets/*
var assetFiles embed.FS

// static is assets/, served under /assets/ at content-addressed URLs.
var static = must(staticfiles.New(assetFiles, "assets", "/assets/"))

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"year":  func() int { return time.Now().Year() },
	"asset": static.Asset,
}).ParseFS(templateFiles, "templates/*.html"))

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Branding is what a company puts on its sign-in pages.
type Branding struct {
	Name    string // shown as the heading when there is no logo, and in titles
	LogoURL string // "" = no logo
}

// SignIn is the username and password page.
type SignIn struct {
	Branding
	Action       string // where the form posts
	AppName      string // "to continue to ..."
	Username     string
	StaySignedIn bool
	Error        string // shown above the form, announced to screen readers
	Flow, CSRF   string
}

// ChangePassword is the forced password change page.
type ChangePassword struct {
	Branding
	Action     string
	Username   string
	Reason     string // why the password must change
	Error      string
	Flow, CSRF string
}

// Error is the error page: a plain message for the person and the details
// the helpdesk needs.
type Error struct {
	Branding
	Title         string
	Message       string
	Code          string // AADSTS50053
	CodeURL       string // the catalogue page for the code
	RequestID     string
	CorrelationID string
	Timestamp     string
}

// ErrorCode is the reference page of one AADSTS code (GET /error?code=N).
type ErrorCode struct {
	Code, Name, Description, UserMessage string
	Reasons                              []ErrorReason
}

// ErrorReason is one failure reason and its remediation steps.
type ErrorReason struct {
	FailureReason string
	Remediation   []string
}

// SignedOut is shown after sign-out when the app named no return address.
type SignedOut struct {
	Branding
}

// Render writes the page named name ("signin", "changepassword", "error",
// "signedout") with status. Pages are never cached: they carry one-time
// form tokens.
func Render(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name+".html", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// Assets serves the hosted pages' files under /assets/ (where it must be
// mounted): kept by browsers for a day, at links that change with them.
func Assets() http.Handler { return static }

// AssetURL is the link to one of the hosted pages' files ("portcullis.css",
// "formpost.js"), for pages drawn outside this package.
func AssetURL(name string) string { return static.URL(name) }

// Favicon serves the site icon (at /favicon.ico, where browsers ask for
// it unprompted: a 404 there is an error in every page's console).
func Favicon() http.Handler {
	icon, _ := assetFiles.ReadFile("assets/favicon.svg")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(icon)
	})
}

// Logo serves the image file at path (read once, at most limit bytes) for
// the pages' logo. Only image types browsers render safely are accepted:
// an SVG is served with a policy that forbids its scripts.
func Logo(path string, limit int64) (http.Handler, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("signin.logo_file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("signin.logo_file: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("signin.logo_file: %s is over %d KiB", path, limit>>10)
	}
	ctype := http.DetectContentType(data)
	if strings.EqualFold(filepath.Ext(path), ".svg") {
		ctype = "image/svg+xml"
	}
	switch ctype {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml":
	default:
		return nil, fmt.Errorf("signin.logo_file: %s is %s, not a PNG, JPEG, GIF, WebP or SVG image", path, ctype)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(data)
	}), nil
}
