package guard

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyTheGuardVerifiesPasswords is the static half of "one gate": no
// production code outside this package calls password.Verify, so a new
// credential path cannot check a password without the budgets. (The dynamic
// half, in internal/app, sends a locked account through every grant type.)
func TestOnlyTheGuardVerifiesPasswords(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		// The password package itself, and the benchmark harness measuring
		// raw hashing speed, are not credential paths.
		if strings.HasSuffix(dir, "internal/guard") || strings.HasSuffix(dir, "internal/directory/password") ||
			strings.HasSuffix(dir, "internal/bench") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "password.Verify(") {
			t.Errorf("%s verifies a password outside the guard", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
