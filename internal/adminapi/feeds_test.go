package adminapi

import "testing"

func TestRedactSource(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/portcullis/drop.txt":                         "/etc/portcullis/drop.txt",
		"https://lists.example/drop.txt":                   "https://lists.example/drop.txt",
		"https://user:secret@lists.example/drop.txt":       "https://…@lists.example/drop.txt",
		"https://lists.example/drop.txt?key=abc&fmt=plain": "https://lists.example/drop.txt?…",
		"https://lists.example/a@b.txt":                    "https://lists.example/a@b.txt",
	} {
		if got := redactSource(in); got != want {
			t.Errorf("redactSource(%q) = %q, want %q", in, got, want)
		}
	}
}
