package dockerignore

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	archive "github.com/moby/go-archive"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// FuzzDockerignore checks the .dockerignore parser and matcher against
// docker's own code on fuzzed content and a fuzzed path:
//   - ReadRules' line-by-line parse gives exactly the patterns of moby's
//     ignorefile.ReadAll (what docker reads), or the same error;
//   - Explain says "sent" for the path and each of its parent directories
//     exactly when moby/go-archive's tar writer (docker's, driven by
//     moby/patternmatcher) puts them in the tar of a tree holding the path;
//   - a path that is not sent names a rule that exists;
//   - patterns that do not parse make Explain fail with patternmatcher's
//     error (docker fails before sending anything).
func FuzzDockerignore(f *testing.F) {
	for _, s := range [][2]string{
		{"*.md\n!README.md\n", "README.md"},
		{"*.md\n!README.md\n", "docs/a.md"},
		{"\uFEFF# comment\r\n  !x  \r\n/a/../b/\n", "b/c"},
		{"**/y\n!sub/deep\n", "sub/deep/y"},
		{"dir\n!dir/keep\n", "dir/keep/x"},
		{"dir\n!dir/inner/keep\n", "dir/inner/keep"},
		{"node_modules\n!**/*.py\n", "node_modules/pkg/a.py"},
		{"*\n!a.txt\n!sub\n", "sub/x"},
		{".dockerignore\n", ".dockerignore"},
		{"?.txt\n[ab].md\n", "b.md"},
		{"a\\.txt\n", "a.txt"},
		{"[\n", "a"},
		{"!\n", "a"},
		{"/\n", "a/b"},
		{"!a\n*\n", "a"},
		{"a/**/b\n", "a/x/y/b"},
		{"\uFEFF\uFEFFa\n", "a"},    // only the file's first BOM is dropped
		{"x\n\uFEFFb\n", "\uFEFFb"}, // not one on a later line
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, content, path string) {
		if len(content) > 1024 || strings.Count(content, "\n") > 16 {
			return // long pattern lists add time, not cases
		}
		want, wantErr := ignorefile.ReadAll(strings.NewReader(content))
		rules, err := parseRules(strings.NewReader(content))
		if (err != nil) != (wantErr != nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("parse error %v, docker's %v", err, wantErr)
		}
		var got []string
		for _, r := range rules {
			got = append(got, r.Pattern)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("patterns differ from ignorefile.ReadAll (-docker +ours):\n%s", diff)
		}

		parts := pathParts(path)
		if parts == nil {
			return
		}
		all := KeepBuildFiles(append([]string(nil), want...), "", true)
		if _, err := patternmatcher.New(all); err != nil {
			// docker fails with this error before sending anything.
			if _, verr := Explain(rules, "", strings.Join(parts, "/")); verr == nil || verr.Error() != err.Error() {
				t.Fatalf("Explain error %v, want patternmatcher's %v", verr, err)
			}
			return
		}
		if !compiles(all) {
			// A pattern that only fails when it is evaluated: whether
			// docker fails depends on the tree and the order of the walk.
			return
		}
		sent := goArchiveSends(t, all, parts)
		for i := range parts {
			rel := strings.Join(parts[:i+1], "/")
			v, err := Explain(rules, "", rel)
			if err != nil {
				t.Fatalf("Explain(%q): %v", rel, err)
			}
			if v.Sent != sent[rel] {
				t.Errorf("Explain(%q).Sent = %v, go-archive: %v (verdict %+v)", rel, v.Sent, sent[rel], v)
			}
			if !v.Sent && (v.Rule == nil || !slices.Contains(rules, *v.Rule)) {
				t.Errorf("Explain(%q) excludes it by %+v, not one of the rules %+v", rel, v.Rule, rules)
			}
			if v.Via != "" && !strings.HasPrefix(rel, v.Via+"/") {
				t.Errorf("Explain(%q) excludes it via %q, not a parent directory", rel, v.Via)
			}
		}
	})
}

// compiles reports whether every pattern's expression compiles:
// patternmatcher compiles a pattern when a match first evaluates it, and
// evaluates an exclusion only once an earlier pattern matched.
func compiles(patterns []string) bool {
	for _, p := range patterns {
		list := []string{p}
		if strings.HasPrefix(p, "!") {
			list = []string{"*", p}
		}
		pm, err := patternmatcher.New(list)
		if err != nil {
			return false
		}
		if _, err := pm.MatchesOrParentMatches("x"); err != nil {
			return false
		}
	}
	return true
}

// pathParts turns a fuzzed string into the elements of a relative path
// that can be made on disk, nil when none can.
func pathParts(s string) []string {
	var parts []string
	for _, p := range strings.Split(s, "/") {
		if p == "" || p == "." || p == ".." || len(p) > 64 || strings.ContainsRune(p, 0) {
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 || len(parts) > 6 {
		return nil
	}
	return parts
}

// goArchiveSends makes a tree holding the path (its last element a file)
// and returns the names docker's tar writer puts in the tar.
func goArchiveSends(t *testing.T, excludes []string, parts []string) map[string]bool {
	dir := t.TempDir()
	file := filepath.Join(append([]string{dir}, parts...)...)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Skip(err) // a name the file system refuses
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Skip(err)
	}
	rc, err := archive.TarWithOptions(dir, &archive.TarOptions{ExcludePatterns: excludes})
	if err != nil {
		t.Fatalf("go-archive: %v", err)
	}
	defer rc.Close()
	sent := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return sent
		}
		if err != nil {
			t.Fatalf("reading go-archive's tar: %v", err)
		}
		sent[strings.TrimSuffix(h.Name, "/")] = true
	}
}
