package oidc

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
)

func TestParseForm(t *testing.T) {
	tests := []struct {
		body string
		code aadsts.Code // 0 = accepted
	}{
		{"grant_type=password&username=a%40b.c&password=p%20w", 0},
		{"", 0},
		{"a=1&a=2", aadsts.DuplicateParameter},
		{"a=%zz", aadsts.InvalidRequestFormat},
		{"a=%ff", aadsts.InvalidRequestParameter},
		{"%ff=1", aadsts.InvalidRequestFormat},
		{"a=1;b=2", aadsts.InvalidRequestFormat},
		{strings.Repeat("k=v&", 1) + paramsN(maxParams+1), aadsts.InvalidRequestFormat},
	}
	for _, tt := range tests {
		_, terr := parseForm(tt.body)
		got := aadsts.Code(0)
		if terr != nil {
			got = terr.Code
		}
		if got != tt.code {
			t.Errorf("parseForm(%.40q) code = %d, want %d", tt.body, got, tt.code)
		}
	}
	form, _ := parseForm("grant_type=password&password=+a+b+")
	if form["password"] != " a b " {
		t.Errorf("password decoded as %q, want %q", form["password"], " a b ")
	}
}

func paramsN(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString("=1&")
	}
	return b.String()
}

// FuzzParseForm: the token request parser never panics, and whatever it
// accepts is valid UTF-8 with each parameter once.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"grant_type=password&username=u&password=p", "a=1&a=2", "%", "a=%ff", "&&&=", "x=%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, terr := parseForm(body)
		if terr != nil {
			if _, ok := aadsts.Lookup(terr.Code); !ok {
				t.Fatalf("error code %d not in the catalogue", terr.Code)
			}
			return
		}
		if len(form) > maxParams {
			t.Fatalf("accepted %d parameters", len(form))
		}
		for k, v := range form {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("accepted invalid UTF-8 %q=%q", k, v)
			}
		}
	})
}
