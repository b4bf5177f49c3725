package dockerignore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadRulesLineNumbers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	content := "\uFEFF# comment\r\n\r\n*.md\r\n  !README.md  \r\n/build/\r\n"
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRules(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{{Pattern: "*.md", Line: 3}, {Pattern: "!README.md", Line: 4}, {Pattern: "build", Line: 5, Anchored: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	// Same patterns as docker's parser reads from the whole file.
	pats, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"*.md", "!README.md", "build"}, pats); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	rules := []Rule{{Pattern: "**/y", Line: 1}, {Pattern: "!sub/deep", Line: 2}, {Pattern: "dir", Line: 3}, {Pattern: "!dir/keep", Line: 4}, {Pattern: "*.md", Line: 5}, {Pattern: "!README.md", Line: 6}, {Pattern: "Dockerfile", Line: 7}, {Pattern: "node_modules", Line: 8}, {Pattern: "!**/*.py", Line: 9}}
	for _, tc := range []struct {
		path string
		want Verdict
	}{
		{"a.txt", Verdict{Path: "a.txt", Sent: true}},
		{"x.md", Verdict{Path: "x.md", Rule: &Rule{Pattern: "*.md", Line: 5}}},
		{"README.md", Verdict{Path: "README.md", Sent: true, Rule: &Rule{Pattern: "!README.md", Line: 6}}},
		{"sub/deep/y", Verdict{Path: "sub/deep/y", Rule: &Rule{Pattern: "**/y", Line: 1}}},
		{"dir/drop", Verdict{Path: "dir/drop", Rule: &Rule{Pattern: "dir", Line: 3}}},
		{"dir/keep", Verdict{Path: "dir/keep", Sent: true, Rule: &Rule{Pattern: "!dir/keep", Line: 4}}},
		{"Dockerfile", Verdict{Path: "Dockerfile", Sent: true, Kept: "Dockerfile"}},
		{"node_modules/a/b.py", Verdict{Path: "node_modules/a/b.py", Via: "node_modules", Rule: &Rule{Pattern: "node_modules", Line: 8}}},
	} {
		got, err := Explain(rules, "Dockerfile", tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Explain(%q) (-want +got):\n%s", tc.path, diff)
		}
	}
}

func TestExplainPath(t *testing.T) {
	t.Parallel()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"keep/a.txt", "node_modules/x.js", "real/f"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	// The same context through a symlinked path, as /tmp may be.
	alias := filepath.Join(t.TempDir(), "alias")
	if err := os.Symlink(dir, alias); err != nil {
		t.Fatal(err)
	}
	rules := []Rule{{Pattern: "node_modules", Line: 2}}
	for _, tc := range []struct {
		name, given string
		want        Verdict
	}{
		{"sent", "keep/a.txt", Verdict{Path: "keep/a.txt", Sent: true}},
		{"excluded", "node_modules/x.js", Verdict{Path: "node_modules/x.js", Via: "node_modules", Rule: &Rule{Pattern: "node_modules", Line: 2}}},
		{"missing", "nosuch/file", Verdict{Path: "nosuch/file", Reason: ReasonMissing}},
		{"below a file", "keep/a.txt/x", Verdict{Path: "keep/a.txt/x", Reason: ReasonMissing}},
		{"outside", "../x/y", Verdict{Path: "../x/y", Reason: ReasonOutside}},
		{"dot-dot inside", "keep/../keep/a.txt", Verdict{Path: "keep/a.txt", Sent: true}},
		{"absolute inside", filepath.Join(dir, "keep/a.txt"), Verdict{Path: "keep/a.txt", Sent: true}},
		{"absolute excluded", filepath.Join(dir, "node_modules/x.js"), Verdict{Path: "node_modules/x.js", Via: "node_modules", Rule: &Rule{Pattern: "node_modules", Line: 2}}},
		{"absolute through a symlink", filepath.Join(alias, "keep/a.txt"), Verdict{Path: "keep/a.txt", Sent: true}},
		{"absolute outside", "/etc/passwd", Verdict{Path: "/etc/passwd", Reason: ReasonOutside}},
		{"the context itself", dir, Verdict{Path: ".", Sent: true}},
		{"below a symlink", "link/f", Verdict{Path: "link/f", Via: "link", Reason: ReasonLink}},
		{"the symlink itself", "link", Verdict{Path: "link", Sent: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExplainPath(dir, rules, "Dockerfile", tc.given)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ExplainPath(%q) (-want +got):\n%s", tc.given, diff)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"valid", []Rule{{Pattern: "*.md", Line: 1}, {Pattern: "!README.md", Line: 2}}, ""},
		{"bad at parse", []Rule{{Pattern: "a", Line: 1}, {Pattern: "[", Line: 3}}, `/c/.dockerignore:3: pattern "[": syntax error in pattern`},
		{"bad when evaluated", []Rule{{Pattern: "[z-a]", Line: 2}}, `/c/.dockerignore:2: pattern "[z-a]": syntax error in pattern`},
		{"bad exception when evaluated", []Rule{{Pattern: `!\1`, Line: 4}}, `/c/.dockerignore:4: pattern "!\\1": syntax error in pattern`},
		{"lone exclamation", []Rule{{Pattern: "!", Line: 5}}, `/c/.dockerignore:5: pattern "!": illegal exclusion pattern: "!"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("/c/.dockerignore", tc.rules)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Check = %q, want %q", got, tc.want)
			}
		})
	}
}
