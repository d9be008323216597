package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// tokenError is a failure answered in Entra's token error format. Cause is
// for the server log only; it never reaches the client.
type tokenError struct {
	Code   aadsts.Code
	Args   []any // fill the catalogue text's verbs
	Status int   // 0 = the catalogue's status
	Cause  error
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter time.Duration
}

func (e *tokenError) Error() string {
	msg := e.Code.String() + ": " + aadsts.Describe(e.Code, e.Args...)
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

func (e *tokenError) Unwrap() error { return e.Cause }

func errCode(code aadsts.Code, args ...any) *tokenError {
	return &tokenError{Code: code, Args: args}
}

// errorBody is Entra's token error JSON, fields in Entra's order.
type errorBody struct {
	Error            string        `json:"error"`
	ErrorDescription string        `json:"error_description"`
	ErrorCodes       []aadsts.Code `json:"error_codes"`
	Timestamp        string        `json:"timestamp"`
	TraceID          string        `json:"trace_id"`
	CorrelationID    string        `json:"correlation_id"`
	ErrorURI         string        `json:"error_uri"`
}

// entraTimestamp is Entra's "2006-01-02 15:04:05Z" format.
const entraTimestamp = "2006-01-02 15:04:05Z"

func (p *Provider) newErrorBody(r *http.Request, e *tokenError, now time.Time) errorBody {
	entry := aadsts.MustLookup(e.Code)
	trace, corr := httpx.RequestID(r.Context()), httpx.CorrelationID(r.Context())
	stamp := now.UTC().Format(entraTimestamp)
	return errorBody{
		Error: entry.OAuthError,
		ErrorDescription: fmt.Sprintf("%s: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.Code, aadsts.Describe(e.Code, e.Args...), trace, corr, stamp),
		ErrorCodes:    []aadsts.Code{e.Code},
		Timestamp:     stamp,
		TraceID:       trace,
		CorrelationID: corr,
		ErrorURI:      p.publicURL + "/error?code=" + strconv.Itoa(int(e.Code)),
	}
}

// writeTokenError answers with Entra's error JSON.
func (p *Provider) writeTokenError(w http.ResponseWriter, r *http.Request, e *tokenError) {
	status := e.Status
	if status == 0 {
		status = aadsts.MustLookup(e.Code).HTTPStatus
	}
	noStore(w)
	if e.RetryAfter == 0 && e.Code == aadsts.Transient {
		// A store that cannot be reached (a database restart, a failover)
		// is usually back within seconds: tell clients when to retry
		// rather than leave each to guess.
		e.RetryAfter = 5 * time.Second
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Round(time.Second)/time.Second)))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="portcullis"`)
	}
	httpx.WriteJSON(w, status, p.newErrorBody(r, e, p.now()))
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
