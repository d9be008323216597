// Package staticfiles serves a directory of embedded files (stylesheets,
// scripts, icons) the way pages should link them: at URLs that change with
// the content, so browsers may keep them and still see a release's new
// ones at once; with Subresource Integrity digests for the tags; from
// memory, gzipped to browsers that take it.
package staticfiles

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// Asset is one file as a page links it.
type Asset struct {
	URL       string // prefix + name + "?v=" + the content's digest
	Integrity string // "sha384-…", for the integrity attribute
}

type served struct {
	raw, gzipped []byte
	contentType  string
	version      string // the v= its links carry
}

// Files is a served directory.
type Files struct {
	links map[string]Asset  // by file name
	files map[string]served // by URL path
}

// New reads every file under dir in fsys, to be served under urlPrefix
// (which ends in "/").
func New(fsys fs.FS, dir, urlPrefix string) (*Files, error) {
	f := &Files{links: map[string]Asset{}, files: map[string]served{}}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		name := strings.TrimPrefix(p, dir+"/")
		version := sha256.Sum256(raw)
		integrity := sha512.Sum384(raw)
		f.links[name] = Asset{URL: urlPrefix + name + "?v=" + hex.EncodeToString(version[:6]),
			Integrity: "sha384-" + base64.StdEncoding.EncodeToString(integrity[:])}
		s := served{raw: raw, contentType: mime.TypeByExtension(path.Ext(name)), version: hex.EncodeToString(version[:6])}
		if s.contentType == "" {
			s.contentType = "application/octet-stream"
		}
		if s.gzipped, err = gzipped(raw); err != nil {
			return fmt.Errorf("gzip %s: %w", p, err)
		}
		f.files[urlPrefix+name] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static files in %s: %w", dir, err)
	}
	return f, nil
}

func gzipped(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Asset links the file name (a template function: an unknown name is an
// error, so a page cannot link a file that is not served).
func (f *Files) Asset(name string) (Asset, error) {
	a, ok := f.links[name]
	if !ok {
		return Asset{}, fmt.Errorf("no static file %q", name)
	}
	return a, nil
}

// URL is Asset(name).URL, for code that knows the name exists ("" if not).
func (f *Files) URL(name string) string { return f.links[name].URL }

// ServeHTTP serves a file by its URL path. Asked for by its own link (the
// v= of this content), it may be kept a year: a new content has a new
// link. Asked for with another v= (a page from another release, on an
// instance not yet upgraded or already upgraded), it is served but not
// kept, so no cache holds these bytes under the other release's link;
// without v=, it may be kept five minutes.
func (f *Files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, ok := f.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", s.contentType)
	switch v := r.URL.Query().Get("v"); v {
	case s.version:
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	case "":
		h.Set("Cache-Control", "public, max-age=300")
	default:
		h.Set("Cache-Control", "no-store")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	body := s.raw
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = s.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (listed, and not refused with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.ToLower(strings.TrimSpace(part)), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimPrefix(strings.ReplaceAll(params, " ", ""), "q="), 64)
		return params == "" || err != nil || q > 0
	}
	return false
}
