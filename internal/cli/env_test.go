package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// anyVariable are the functions that read a variable the user names:
// --build-arg NAME (--help says so below the table).
var anyVariable = []string{"ConvertKVStringsToMapWithNil", "buildArgs"}

// libraryEnv are the variables that standard or imported functions read
// for mybuild when it calls them.
var libraryEnv = map[string][]string{
	"ProxyFromEnvironment": {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"},
}

// envReads returns the variables the Go files below roots (tests apart)
// read with a Getenv/LookupEnv-style call (a literal or a constant name).
// A call whose argument is a parameter of its function is a wrapper and
// is skipped; any other argument fails t.
func envReads(t *testing.T, roots ...string) map[string]bool {
	t.Helper()
	code := map[string]bool{}
	consts := map[string]string{} // "pkg.Name" and "Name" (per package dir) → value
	type file struct {
		f   *ast.File
		pos string
	}
	var files []file
	fset := token.NewFileSet()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "testbed") {
				return filepath.SkipDir // test data, and the test bed's own settings
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, p, nil, 0)
			if err != nil {
				return err
			}
			files = append(files, file{f, p})
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								v, _ := strconv.Unquote(lit.Value)
								consts[filepath.Dir(p)+"."+n.Name] = v
								consts[f.Name.Name+"."+n.Name] = v
							}
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, fl := range files {
		into := code
		params := map[string]bool{}
		ast.Inspect(fl.f, func(n ast.Node) bool {
			if ft, ok := n.(*ast.FuncType); ok {
				for _, fld := range ft.Params.List {
					for _, nm := range fld.Names {
						params[nm.Name] = true
					}
				}
			}
			return true
		})
		ast.Inspect(fl.f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.FuncDecl); ok && slices.Contains(anyVariable, fd.Name.Name) {
				return false
			}
			if sel, ok := n.(*ast.SelectorExpr); ok {
				for _, v := range libraryEnv[sel.Sel.Name] {
					into[v] = true
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			if !slices.Contains([]string{"Getenv", "getenv", "LookupEnv", "lookupEnv"}, name) {
				return true
			}
			switch a := call.Args[0].(type) {
			case *ast.BasicLit:
				v, _ := strconv.Unquote(a.Value)
				into[v] = true
			case *ast.Ident:
				if v, ok := consts[filepath.Dir(fl.pos)+"."+a.Name]; ok {
					into[v] = true
				} else if !params[a.Name] {
					t.Errorf("%s: %s(%s): cannot tell which variable is read", fset.Position(call.Pos()), name, a.Name)
				}
			case *ast.SelectorExpr:
				if x, ok := a.X.(*ast.Ident); ok {
					if v, ok := consts[x.Name+"."+a.Sel.Name]; ok {
						into[v] = true
						return true
					}
				}
				t.Errorf("%s: %s(…): cannot tell which variable is read", fset.Position(call.Pos()), name)
			default:
				t.Errorf("%s: %s(…): cannot tell which variable is read", fset.Position(call.Pos()), name)
			}
			return true
		})
	}
	return code
}

// testLiterals are the string literals of the _test.go files below root
// that look like a variable name: what the tests read.
func testLiterals(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	name := regexp.MustCompile(`^"[A-Z][A-Z0-9_]+"$`)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && name.MatchString(lit.Value) {
				names[strings.Trim(lit.Value, `"`)] = true
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestEnvironmentTable: the table --help prints names every variable that
// mybuild's code reads, and only those.
func TestEnvironmentTable(t *testing.T) {
	code := envReads(t, "../../internal", "../../pkg", "../../cmd")
	var got, want []string
	for _, v := range environment {
		got = append(got, v.Name)
	}
	for v := range code {
		want = append(want, v)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("environment table (-read by the code +listed):\n%s", diff)
	}
	out, _, _ := run(t, "--help")
	for _, v := range environment {
		if !regexp.MustCompile(`(?m)^  ` + v.Name + ` +\S`).MatchString(out) {
			t.Errorf("--help does not list %s", v.Name)
		}
	}
}

// TestEnvironmentInREADME: README.md's Environment section lists the
// table's variables, and the README names no other variable that mybuild
// or its tests do not read.
func TestEnvironmentInREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	_, section, ok := strings.Cut(readme, "\n## Environment\n")
	if !ok {
		t.Fatal("README.md has no ## Environment section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var got, want []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z0-9_]+)`").FindAllStringSubmatch(section, -1) {
		got = append(got, m[1])
	}
	for _, v := range environment {
		want = append(want, v.Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README.md's Environment table (-the table in env.go +README):\n%s", diff)
	}
	tests := testLiterals(t, "../..")
	for _, name := range regexp.MustCompile(`\b(?:DOCKER|MYBUILD)_[A-Z_]+\b`).FindAllString(readme, -1) {
		if !slices.Contains(want, name) && !tests[name] {
			t.Errorf("README.md names %s, which neither mybuild nor its tests read", name)
		}
	}
}
