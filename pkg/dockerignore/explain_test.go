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
	want := []Rule{{"*.md", 3}, {"!README.md", 4}, {"build", 5}}
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
	rules := []Rule{{"**/y", 1}, {"!sub/deep", 2}, {"dir", 3}, {"!dir/keep", 4}, {"*.md", 5}, {"!README.md", 6}, {"Dockerfile", 7}, {"node_modules", 8}, {"!**/*.py", 9}}
	for _, tc := range []struct {
		path string
		want Verdict
	}{
		{"a.txt", Verdict{Path: "a.txt", Sent: true}},
		{"x.md", Verdict{Path: "x.md", Rule: &Rule{"*.md", 5}}},
		{"README.md", Verdict{Path: "README.md", Sent: true, Rule: &Rule{"!README.md", 6}}},
		{"sub/deep/y", Verdict{Path: "sub/deep/y", Rule: &Rule{"**/y", 1}}},
		{"dir/drop", Verdict{Path: "dir/drop", Rule: &Rule{"dir", 3}}},
		{"dir/keep", Verdict{Path: "dir/keep", Sent: true, Rule: &Rule{"!dir/keep", 4}}},
		{"Dockerfile", Verdict{Path: "Dockerfile", Sent: true, Kept: "Dockerfile"}},
		{"node_modules/a/b.py", Verdict{Path: "node_modules/a/b.py", Via: "node_modules", Rule: &Rule{"node_modules", 8}}},
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
