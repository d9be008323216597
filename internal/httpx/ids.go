package httpx

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	correlationIDKey
	clientIPKey
)

// RequestID returns the request's trace ID (Entra's x-ms-request-id).
func RequestID(ctx context.Context) string {
	v, _ := ctx.Value(requestIDKey).(string)
	return v
}

// CorrelationID returns the request's correlation ID: the client's
// client-request-id when it sent a valid one, else a fresh GUID.
func CorrelationID(ctx context.Context) string {
	v, _ := ctx.Value(correlationIDKey).(string)
	return v
}

// WithIDs returns ctx carrying the given IDs (for tests and background work).
func WithIDs(ctx context.Context, requestID, correlationID string) context.Context {
	ctx = context.WithValue(ctx, requestIDKey, requestID)
	return context.WithValue(ctx, correlationIDKey, correlationID)
}

// RequestIDs assigns a trace ID to every request and adopts the client's
// client-request-id as correlation ID, as Entra does; both are echoed in the
// response headers. A client-supplied value is accepted only if it is a GUID,
// so nothing arbitrary is reflected into headers or logs.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Time-ordered: the request ID is also the ID of the request's
		// sign-in record (as in Entra, where the request ID on the error
		// page finds the record), and that index grows at its end.
		requestID := uuid.NewString()
		if id, err := uuid.NewV7(); err == nil {
			requestID = id.String()
		}
		correlationID := ""
		if v := r.Header.Get("client-request-id"); v != "" {
			if id, err := uuid.Parse(strings.TrimSpace(v)); err == nil {
				correlationID = id.String()
			}
		}
		if correlationID == "" {
			// Time-ordered, so correlation IDs Portcullis makes up append to
			// the sign-in log's correlation index instead of scattering.
			if id, err := uuid.NewV7(); err == nil {
				correlationID = id.String()
			} else {
				correlationID = uuid.NewString()
			}
		}
		w.Header().Set("x-ms-request-id", requestID)
		w.Header().Set("client-request-id", correlationID)
		next.ServeHTTP(w, r.WithContext(WithIDs(r.Context(), requestID, correlationID)))
	})
}
