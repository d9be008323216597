package admincenter

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// collection is one page of a Graph collection as the API answers it.
type collection[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// readCollection GETs a collection with the administrator's token. On a
// refusal or failure it answers the status and a sentence for the page,
// and an empty collection.
func readCollection[T any](c *Center, r *http.Request, v *viewer, target string) (collection[T], int, string) {
	code, body := c.call(r, http.MethodGet, target, v.Token, nil, "")
	var page collection[T]
	if code != http.StatusOK || json.Unmarshal(body, &page) != nil {
		return collection[T]{}, max(code, http.StatusBadRequest), apiMessage(code, body)
	}
	return page, http.StatusOK, ""
}

// values is readCollection for the parts of a page that are shown when
// they can be read and left out otherwise.
func values[T any](c *Center, r *http.Request, v *viewer, target string) []T {
	page, _, _ := readCollection[T](c, r, v, target)
	return page.Value
}

// nextPageLink is the console's link to the page after this one: path with
// the filter the page was drawn with and the API's skip token, or "" on
// the last page.
func nextPageLink(path string, filter url.Values, apiNextLink string) string {
	next, err := url.Parse(apiNextLink)
	if err != nil || apiNextLink == "" {
		return ""
	}
	q := url.Values{}
	for k, vs := range filter {
		q[k] = vs
	}
	q.Set("page", next.Query().Get("$skiptoken"))
	return path + "?" + q.Encode()
}
