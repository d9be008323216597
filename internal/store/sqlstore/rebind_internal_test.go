package sqlstore

import "testing"

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b = ?`, `a = $1 AND b = $2`},
		{`x < ?1 OR y < ?1`, `x < $1 OR y < $1`},
		{`s = '?' AND t = ?`, `s = '?' AND t = $1`},
		{`"we?ird" = ? -- why?` + "\n" + `AND z = ?`, `"we?ird" = $1 -- why?` + "\n" + `AND z = $2`},
		{`it''s = ?`, `it''s = $1`},
		{`unterminated '?`, `unterminated '?`},
		{`-- only a comment ?`, `-- only a comment ?`},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPrefixSuccessor(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abd", true},
		{"a\U0010FFFF", "b", true},
		{"\U0010FFFF", "", false},
		{"", "", false},
		{"\uD7FF", "\uE000", true},
	} {
		got, ok := prefixSuccessor(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("prefixSuccessor(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
