package admincenter

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
	"path/filepath"
	"strconv"
	"strings"
)

// HTMXVersion is the vendored copy of htmx (assets/htmx.min.js, from the
// npm package htmx.org, Zero-Clause BSD: assets/htmx.LICENSE.txt), and
// HTMXSHA256 the digest of that file as the package ships it. A test holds
// the embedded file to the digest, so the copy cannot drift unnoticed; to
// update, replace the file from `npm pack htmx.org@VERSION` and both
// constants.
const (
	HTMXVersion = "2.0.11"
	HTMXSHA256  = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
)

// asset is one embedded file as the pages link it: a URL that changes
// with the content (so it may be cached for good) and its Subresource
// Integrity digest.
type asset struct {
	URL, Integrity string
}

// assetIndex describes every embedded asset, computed once at start.
func assetIndex() (map[string]asset, error) {
	index := map[string]asset{}
	err := fs.WalkDir(assetFiles, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assetFiles.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		version := sha256.Sum256(data)
		integrity := sha512.Sum384(data)
		name := strings.TrimPrefix(path, "assets/")
		index[name] = asset{
			URL:       "/admin/" + path + "?v=" + hex.EncodeToString(version[:6]),
			Integrity: "sha384-" + base64.StdEncoding.EncodeToString(integrity[:]),
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("admin center assets: %w", err)
	}
	return index, nil
}

// servedAsset is an embedded file ready to send: as it is, and gzipped.
type servedAsset struct {
	raw, gzipped []byte
	contentType  string
}

// serveAssets serves the embedded files from memory, gzipped to browsers
// that take it (htmx is 52 KB as it is, 17 KB gzipped). Their links carry
// the content's digest, so a browser keeps them for a day and fetches anew
// when a release changes them.
func serveAssets() (http.Handler, error) {
	files := map[string]servedAsset{}
	err := fs.WalkDir(assetFiles, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := assetFiles.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(raw); err != nil {
			return fmt.Errorf("gzip %s: %w", path, err)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("gzip %s: %w", path, err)
		}
		ctype := mime.TypeByExtension(filepath.Ext(path))
		if ctype == "" {
			ctype = "text/plain; charset=utf-8"
		}
		files["/admin/"+path] = servedAsset{raw: raw, gzipped: buf.Bytes(), contentType: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("admin center assets: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "public, max-age=86400")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Encoding")
		body := a.raw
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gzipped
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	}), nil
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (listed, and not with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
