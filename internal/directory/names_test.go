package directory

import (
	"errors"
	"strings"
	"testing"
)

func TestLoginKeyUnifiesVariants(t *testing.T) {
	variants := []string{
		"alice@contoso.test", "Alice@Contoso.TEST", "  ALICE@contoso.test ",
		"ａｌｉｃｅ@ｃｏｎｔｏｓｏ.test", // full-width letters fold under NFKC
	}
	for _, v := range variants {
		got, err := LoginKey(v)
		if err != nil || got != "alice@contoso.test" {
			t.Errorf("LoginKey(%q) = %q, %v; want alice@contoso.test", v, got, err)
		}
	}
	if k, _ := LoginKey("STRASSE@contoso.test"); k != "strasse@contoso.test" {
		t.Errorf("LoginKey(STRASSE) = %q", k)
	}
	if k, _ := LoginKey("straße@contoso.test"); k != "strasse@contoso.test" {
		t.Errorf("case folding should map ß to ss, got %q", k)
	}
}

func TestLoginKeyRejectsMalformed(t *testing.T) {
	for _, bad := range []string{"", "alice", "@contoso.test", "a@b@contoso.test", "al ice@contoso.test",
		"alice@localhost", "alice@-bad.test", "alice@contoso..test", strings.Repeat("a", 110) + "@contoso.test", "a\x00@contoso.test"} {
		if _, err := LoginKey(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("LoginKey(%q) err = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestDisplayUPNKeepsCase(t *testing.T) {
	if got, err := DisplayUPN("Alice.Smith@Contoso.test"); err != nil || got != "Alice.Smith@Contoso.test" {
		t.Fatalf("DisplayUPN = %q, %v", got, err)
	}
}
