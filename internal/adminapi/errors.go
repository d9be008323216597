package adminapi

import (
	"net/http"
	"time"

	"github.com/portcullis-idp/portcullis/internal/httpx"
)

// Graph's error codes.
const (
	codeInvalidToken       = "InvalidAuthenticationToken"
	codeDenied             = "Authorization_RequestDenied"
	codeNotFound           = "Request_ResourceNotFound"
	codeBadRequest         = "Request_BadRequest"
	codeConflict           = "Request_MultipleObjectsWithSameKeyValue"
	codeInternal           = "InternalServerError"
	codePreconditionFailed = "Request_PreconditionFailed"
	codeThrottled          = "TooManyRequests"
)

// graphError is Microsoft Graph's error body.
type graphError struct {
	Error graphErrorBody `json:"error"`
}

type graphErrorBody struct {
	Code       string        `json:"code"`
	Message    string        `json:"message"`
	Details    []errorDetail `json:"details,omitempty"`
	InnerError innerError    `json:"innerError"`
}

// errorDetail is one entry of Graph's error details: a problem with one
// part of the request (target names it, for example "line 7").
type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeErrorDetails(w, r, status, code, message, nil)
}

func writeErrorDetails(w http.ResponseWriter, r *http.Request, status int, code, message string, details []errorDetail) {
	httpx.WriteJSON(w, status, graphError{Error: graphErrorBody{Code: code, Message: message, Details: details,
		InnerError: innerError{Date: time.Now().UTC().Format("2006-01-02T15:04:05"), RequestID: httpx.RequestID(r.Context()),
			ClientRequestID: httpx.CorrelationID(r.Context())}}})
}
