package admincenter

import (
	"io"
	"net/http"
	"net/http/httptest"
)

// call sends one request to the server's own handlers, in process, with
// the administrator's token. The request keeps the browser request's
// context, so the client address and request ID the API audits are the
// administrator's.
func (c *Center) call(r *http.Request, method, target, token string, body io.Reader, contentType string) (int, []byte) {
	code, out, _ := c.callWith(r, method, target, token, body, http.Header{"Content-Type": {contentType}})
	return code, out
}

// callWith is call with request headers (If-Match) and the answer's
// headers (ETag).
func (c *Center) callWith(r *http.Request, method, target, token string, body io.Reader, headers http.Header) (int, []byte, http.Header) {
	req, err := http.NewRequestWithContext(r.Context(), method, target, body)
	if err != nil {
		return http.StatusBadRequest, nil, nil
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	for k, vs := range headers {
		for _, v := range vs {
			if v != "" {
				req.Header.Add(k, v)
			}
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	c.backend.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), rec.Header()
}

// stream is call for large answers (exports): the backend writes straight
// to w.
func (c *Center) stream(w http.ResponseWriter, r *http.Request, target, token string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
	if err != nil {
		http.Error(w, "Bad request.", http.StatusBadRequest)
		return
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.Header.Set("Authorization", "Bearer "+token)
	c.backend.ServeHTTP(w, req)
}
