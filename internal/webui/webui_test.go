package webui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPagesRenderUnderTheCSP renders every page: each escapes what it is
// given, has no inline script or style (the pages' Content-Security-Policy
// forbids both), labels every input, and is not cacheable.
func TestPagesRenderUnderTheCSP(t *testing.T) {
	brand := Branding{Name: `Contoso <"Ltd">`}
	pages := map[string]any{
		"signin": SignIn{Branding: brand, Action: "/t/login", AppName: "<b>Payroll</b>", Username: `a"b@contoso.com`,
			Error: "Your account or password is incorrect.", Flow: "f", CSRF: "c"},
		"changepassword": ChangePassword{Branding: brand, Action: "/t/login/password", Username: "a@contoso.com", Reason: "r",
			Flow: "f", CSRF: "c"},
		"error":     Error{Branding: brand, Title: "We couldn't sign you in", Message: "m", Code: "AADSTS50053", CodeURL: "/error?code=50053"},
		"signedout": SignedOut{Branding: brand},
		"errorcode": ErrorCode{Code: "AADSTS50053", Name: "IdsLocked", Description: "<d>", UserMessage: "u",
			Reasons: []ErrorReason{{FailureReason: "r", Remediation: []string{"portcullis users unlock UPN"}}}},
	}
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|\sstyle=|\son[a-z]+=`)
	for name, data := range pages {
		rec := httptest.NewRecorder()
		if err := Render(rec, http.StatusOK, name, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body := rec.Body.String()
		if inline.MatchString(body) {
			t.Errorf("%s has inline script or style: %s", name, inline.FindString(body))
		}
		if strings.Contains(body, "<b>Payroll</b>") || strings.Contains(body, `<"Ltd">`) {
			t.Errorf("%s does not escape its data", name)
		}
		if rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(body, `<html lang="en">`) {
			t.Errorf("%s: headers %v", name, rec.Header())
		}
		for _, id := range regexp.MustCompile(`<input id="([a-z]+)"`).FindAllStringSubmatch(body, -1) {
			if !strings.Contains(body, `<label for="`+id[1]+`">`) {
				t.Errorf("%s: input %s has no label", name, id[1])
			}
		}
	}
}

// TestLogo accepts images and refuses other files and oversized ones.
func TestLogo(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "logo.png")
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), 0o600)
	h, err := Logo(png, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/branding/logo", nil))
	if rec.Header().Get("Content-Type") != "image/png" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("logo headers: %v", rec.Header())
	}
	html := filepath.Join(dir, "logo.html")
	os.WriteFile(html, []byte("<html><script>alert(1)</script></html>"), 0o600)
	if _, err := Logo(html, 1024); err == nil {
		t.Fatal("an HTML file was accepted as a logo")
	}
	if _, err := Logo(png, 4); err == nil {
		t.Fatal("a logo over the limit was accepted")
	}
}

// TestStylesheetLinkFollowsItsContent: pages link the stylesheet at a URL
// carrying its digest (a release's new one is fetched at once, though
// browsers keep it a day) with an integrity digest, and that URL serves it.
func TestStylesheetLinkFollowsItsContent(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := Render(rec, http.StatusOK, "signedout", SignedOut{Branding: Branding{Name: "Contoso"}}); err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`<link rel="stylesheet" href="(/assets/portcullis\.css\?v=[0-9a-f]{12})" integrity="sha384-[^"]+">`).
		FindStringSubmatch(rec.Body.String())
	if link == nil || link[1] != AssetURL("portcullis.css") {
		t.Fatalf("the stylesheet's link: %q", rec.Body.String())
	}
	get := httptest.NewRecorder()
	Assets().ServeHTTP(get, httptest.NewRequest("GET", link[1], nil))
	css, _ := assetFiles.ReadFile("assets/portcullis.css")
	if get.Code != http.StatusOK || get.Body.String() != string(css) || !strings.HasPrefix(get.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("GET %s: %d %s", link[1], get.Code, get.Header().Get("Content-Type"))
	}
}
