// Package httpx holds the HTTP plumbing every handler shares: error-returning
// handlers whose errors separate the public message from the logged cause,
// request and correlation IDs, the client IP as seen through trusted proxies,
// and security headers.
package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
)

// Error is an HTTP error: Public is what the client sees, Cause is what the
// log sees. The two are separate so internals never reach the client.
type Error struct {
	Status int
	Public string
	Cause  error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Public + ": " + e.Cause.Error()
	}
	return e.Public
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an *Error.
func Errorf(status int, public string, cause error) *Error {
	return &Error{Status: status, Public: public, Cause: cause}
}

// HandlerFunc is a handler that may fail.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h: a returned *Error becomes its status and public message as
// JSON; any other error is logged and answered with a bare 500.
func Handle(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var he *Error
		if !errors.As(err, &he) {
			he = &Error{Status: http.StatusInternalServerError, Public: "internal error", Cause: err}
		}
		level := slog.LevelInfo
		if he.Status >= 500 {
			level = slog.LevelError
		}
		log.Log(r.Context(), level, "request failed", "path", r.URL.Path, "status", he.Status,
			"error", err.Error(), "request_id", RequestID(r.Context()))
		WriteJSON(w, he.Status, map[string]any{"error": map[string]string{
			"code": http.StatusText(he.Status), "message": he.Public}})
	})
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// SecurityHeaders sets headers every response should carry; hsts adds
// Strict-Transport-Security, for a server whose public URL is https.
func SecurityHeaders(hsts bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}
