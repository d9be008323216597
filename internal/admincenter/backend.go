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
	req, err := http.NewRequestWithContext(r.Context(), method, target, body)
	if err != nil {
		return http.StatusBadRequest, nil
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	c.backend.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
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
