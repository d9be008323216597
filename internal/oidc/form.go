package oidc

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"unicode/utf8"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
)

const (
	// MaxBodyBytes bounds a token request body.
	MaxBodyBytes = 1 << 20
	// maxParams bounds the number of form parameters.
	maxParams = 64
)

// readForm reads a token request body strictly: POST only, form-encoded,
// at most MaxBodyBytes, valid UTF-8, every parameter at most once. Query
// string parameters are ignored, as on Entra: credentials belong in the body.
func readForm(w http.ResponseWriter, r *http.Request) (map[string]string, *tokenError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, errCode(aadsts.EndpointOnlyAcceptsPost, r.Method)
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errCode(aadsts.InvalidContentType, "grant_type")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &tokenError{Code: aadsts.RequestBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Cause: err}
		}
		return nil, &tokenError{Code: aadsts.InvalidRequestFormat, Cause: err}
	}
	return parseForm(string(body))
}

// parseForm is the pure part of readForm (fuzzed).
func parseForm(body string) (map[string]string, *tokenError) {
	values, err := url.ParseQuery(body)
	if err != nil {
		return nil, &tokenError{Code: aadsts.InvalidRequestFormat, Cause: err}
	}
	if len(values) > maxParams {
		return nil, &tokenError{Code: aadsts.InvalidRequestFormat, Cause: errors.New("too many parameters")}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: the same bad body gets the same answer
	form := make(map[string]string, len(values))
	for _, k := range keys {
		v := values[k]
		if !utf8.ValidString(k) {
			return nil, &tokenError{Code: aadsts.InvalidRequestFormat, Cause: errors.New("parameter name is not UTF-8")}
		}
		if len(v) > 1 {
			return nil, errCode(aadsts.DuplicateParameter, k)
		}
		if !utf8.ValidString(v[0]) {
			return nil, errCode(aadsts.InvalidRequestParameter, k)
		}
		form[k] = v[0]
	}
	return form, nil
}
