package admincenter

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
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

// serveAssets serves the embedded files. Their links carry the content's
// digest, so a browser keeps them for a day and fetches anew when a
// release changes them.
func serveAssets() http.Handler {
	files := http.StripPrefix("/admin/", http.FileServerFS(assetFiles))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
