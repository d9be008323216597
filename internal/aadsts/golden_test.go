package aadsts

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// codeConstants reads every constant of type Code declared in codes.go, with
// its value (aliases resolved), straight from the source: a constant added
// there is checked without anyone listing it again.
func codeConstants(t *testing.T) map[string]Code {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]Code{}
	aliases := map[string]string{}
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				switch v := vs.Values[i].(type) {
				case *ast.BasicLit:
					n, err := strconv.Atoi(v.Value)
					if err != nil {
						t.Fatalf("%s = %s", name.Name, v.Value)
					}
					values[name.Name] = Code(n)
				case *ast.Ident:
					aliases[name.Name] = v.Name
				}
			}
		}
	}
	for name, target := range aliases {
		values[name] = values[target]
	}
	return values
}

// TestEveryEmittedCodeIsCatalogued is the golden check: every code constant
// has a catalogue entry, and every reference to this package's identifiers
// anywhere in the code base names a code constant or one of its accessors;
// no code is made from a bare number.
func TestEveryEmittedCodeIsCatalogued(t *testing.T) {
	consts := codeConstants(t)
	if len(consts) < 40 {
		t.Fatalf("read only %d code constants from codes.go", len(consts))
	}
	for name, c := range consts {
		if _, ok := Lookup(c); !ok {
			t.Errorf("%s (%d) has no catalogue entry", name, c)
		}
	}
	accessors := map[string]bool{"Code": true, "Entry": true, "Lookup": true, "MustLookup": true, "Describe": true,
		"All": true, "Reasons": true, "Reason": true, "FailureReasonMaliciousIP": true}
	ref := regexp.MustCompile(`\baadsts\.([A-Za-z_][A-Za-z0-9_]*)`)
	literal := regexp.MustCompile(`\baadsts\.Code\(\s*[0-9]`)
	root := filepath.Join("..", "..")
	seen := 0
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
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if literal.Match(src) {
			t.Errorf("%s makes an AADSTS code from a number: use a constant with a catalogue entry", path)
		}
		for _, m := range ref.FindAllStringSubmatch(string(src), -1) {
			seen++
			if _, isCode := consts[m[1]]; !isCode && !accessors[m[1]] {
				t.Errorf("%s uses aadsts.%s, which is neither a catalogued code nor an accessor", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("found only %d references to the catalogue: is the walk looking at the code base?", seen)
	}
}
