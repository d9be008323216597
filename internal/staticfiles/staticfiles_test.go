package staticfiles

import (
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// TestFiles: links change with the content and carry its SRI digest;
// files are served with their type, gzipped only to those who take it
// (q=0 refuses), nothing for HEAD's body, 404 for anything else.
func TestFiles(t *testing.T) {
	css := strings.Repeat("body { color: black; }\n", 50)
	fsys := fstest.MapFS{"assets/site.css": {Data: []byte(css)}, "assets/app.js": {Data: []byte("let x = 1;")}}
	f, err := New(fsys, "assets", "/static/")
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Asset("site.css")
	sum := sha512.Sum384([]byte(css))
	if err != nil || !strings.HasPrefix(a.URL, "/static/site.css?v=") || len(a.URL) != len("/static/site.css?v=")+12 ||
		a.Integrity != "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("site.css links as %+v (%v)", a, err)
	}
	changed, _ := New(fstest.MapFS{"assets/site.css": {Data: []byte(css + " ")}}, "assets", "/static/")
	if c, _ := changed.Asset("site.css"); c.URL == a.URL {
		t.Fatal("the link did not change with the content")
	}
	if _, err := f.Asset("nonesuch.css"); err == nil {
		t.Fatal("a missing file has a link")
	}

	get := func(method, target, acceptEncoding string) *http.Response {
		req := httptest.NewRequest(method, target, nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		return rec.Result()
	}
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{{"", false}, {"gzip", true}, {"br, gzip;q=0.5", true}, {"gzip;q=0", false}, {"identity", false}} {
		resp := get("GET", a.URL, tc.accept)
		body := resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		got, _ := io.ReadAll(body)
		if resp.StatusCode != 200 || (resp.Header.Get("Content-Encoding") == "gzip") != tc.gzip || string(got) != css ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Accept-Encoding %q: %d %v, %d bytes", tc.accept, resp.StatusCode, resp.Header, len(got))
		}
	}
	// Kept for good only under its own link; another release's link gets
	// the bytes, not to be kept.
	for target, want := range map[string]string{a.URL: "public, max-age=31536000, immutable",
		"/static/site.css?v=000000000000": "no-store", "/static/site.css": "public, max-age=300"} {
		if got := get("GET", target, "").Header.Get("Cache-Control"); got != want {
			t.Errorf("GET %s: Cache-Control %q, want %q", target, got, want)
		}
	}
	if resp := get("GET", a.URL, "GZIP;Q=0"); resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip refused in capitals was sent anyway")
	}
	if resp := get("HEAD", "/static/app.js", ""); resp.StatusCode != 200 || resp.ContentLength != int64(len("let x = 1;")) {
		t.Fatalf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	if resp := get("GET", "/static/nonesuch.js", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a missing file: %d", resp.StatusCode)
	}
}
