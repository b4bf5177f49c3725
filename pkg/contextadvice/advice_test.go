package contextadvice

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// tree makes a context from entries: "path=content" (a file), "path/" (a
// directory), "path -> target" (a symlink), "path => other" (a hard link).
func tree(t testing.TB, entries ...string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var err error
		name, target, link := strings.Cut(e, " -> ")
		hname, other, hard := strings.Cut(e, " => ")
		p := filepath.Join(dir, strings.SplitN(e, "=", 2)[0])
		switch {
		case link:
			p = filepath.Join(dir, name)
		case hard:
			p = filepath.Join(dir, hname)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case link:
			err = os.Symlink(target, p)
		case hard:
			err = os.Link(filepath.Join(dir, other), p)
		case strings.HasSuffix(e, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			_, content, _ := strings.Cut(e, "=")
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func rules(patterns ...string) []dockerignore.Rule {
	var rs []dockerignore.Rule
	for i, p := range patterns {
		rs = append(rs, dockerignore.Rule{Pattern: p, Line: i + 1})
	}
	return rs
}

// sent lists the entries the tree says are sent (with Top 0 it holds
// every entry docker's walk decides on).
func sent(n *Node) []string {
	var out []string
	for _, c := range n.Children {
		below := 0
		for _, cc := range c.Children {
			below += cc.Sent.Entries
		}
		if c.Sent.Entries-below == 1 {
			out = append(out, c.Path)
		}
		out = append(out, sent(c)...)
	}
	return out
}

// agreeTree is a context with what makes docker's walk hard: excluded
// directories with exceptions below, hard links, symlinks, names that
// sort oddly.
var agreeTree = []string{
	"Dockerfile=FROM scratch\n", "a.md=1", "README.md=22", "sub/deep/y=333", "sub/deep/z=4444", "sub/y=5",
	"dir/keep=k", "dir/drop=dd", "dir/inner/keep=kk", "node_modules/pkg/a.py=py", "node_modules/pkg/b.js=js",
	"src/a.go=go", "src/b.md=md", "src/node_modules/x=x", "logs/app.log=log", "app.log=l", "x y/z=z",
	"hard => src/a.go", "link -> src", "empty/", "a-b/c=c", "a/b=ab", "a.b/c=abc",
}

var agreeIgnores = [][]string{
	nil,
	{"**/y", "!sub/deep"},
	{"dir", "!dir/keep"},
	{"dir", "!dir/inner/keep"},
	{"node_modules", "!**/*.py"},
	{"*", "!a.md", "!sub"},
	{".dockerignore", "Dockerfile", "*.md"},
	{"a/**/b", "**/node_modules", "*.log"},
	{"**", "!src/a.go"},
	{"src", "!src/*.go", "src/a.go"},
	{"a", "!a/b", "a*"},
}

// TestWalkSendsWhatTheTarSends: the entries the adviser says are sent,
// and their totals, are those of the tar walk (buildcontext, which the
// differential suite holds to docker's), for tricky ignore files and for
// random ones.
func TestWalkSendsWhatTheTarSends(t *testing.T) {
	t.Parallel()
	dir := tree(t, agreeTree...)
	ignores := slices.Clone(agreeIgnores)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		ignores = append(ignores, randomIgnore(r))
	}
	for _, patterns := range ignores {
		agree(t, dir, patterns)
	}
}

// FuzzWalkSendsWhatTheTarSends is the same for any .dockerignore.
func FuzzWalkSendsWhatTheTarSends(f *testing.F) {
	for _, ps := range agreeIgnores {
		f.Add(strings.Join(ps, "\n"))
	}
	dir := tree(f, agreeTree...)
	f.Fuzz(func(t *testing.T, content string) {
		if len(content) > 512 || strings.Count(content, "\n") > 8 {
			return
		}
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, dockerignore.FileName), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		rs, err := dockerignore.ReadRules(d)
		if err != nil || dockerignore.Check("", rs) != nil {
			return
		}
		patterns := make([]string, len(rs))
		for i, r := range rs {
			patterns[i] = r.Pattern
		}
		agree(t, dir, patterns)
	})
}

// agree compares the adviser with the tar walk on dir for patterns, with
// the Dockerfile at the top, below, and from stdin.
func agree(t *testing.T, dir string, patterns []string) {
	t.Helper()
	for _, df := range []struct {
		name      string
		fromStdin bool
	}{{"Dockerfile", false}, {"src/a.go", false}, {"", true}} {
		tt, err := buildcontext.NewTar(dir, buildcontext.TarOptions{Excludes: patterns, Dockerfile: df.name, DockerfileFromStdin: df.fromStdin})
		if err != nil {
			return // a pattern docker refuses: the adviser is not asked then
		}
		inv, err := buildcontext.TakeInventory(context.Background(), tt)
		if err != nil {
			return // as above, found when evaluated
		}
		rep, err := Walk(context.Background(), Options{Dir: dir, Rules: rules(patterns...), Dockerfile: df.name, DockerfileFromStdin: df.fromStdin})
		if err != nil {
			t.Fatalf("%q: %v", patterns, err)
		}
		var want []string
		for _, it := range inv.Items {
			want = append(want, it.Path)
		}
		got := sent(rep.Tree)
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (Dockerfile %q): sent entries (-tar +adviser):\n%s", patterns, df.name, diff)
		}
		if w := (Count{Entries: len(inv.Items), Files: inv.Files, Bytes: inv.Size}); w != rep.Sent {
			t.Errorf("%q: sent %+v, the tar %+v", patterns, rep.Sent, w)
		}
	}
}

// randomIgnore draws up to 4 patterns over agreeTree's names.
func randomIgnore(r *rand.Rand) []string {
	elems := []string{"a", "b", "sub", "deep", "y", "dir", "keep", "src", "*.md", "*.go", "*", "**", "?", "[ab]*", "node_modules", "logs", "*.log", "inner", "a*"}
	var ps []string
	for range 1 + r.IntN(4) {
		var parts []string
		for range 1 + r.IntN(3) {
			parts = append(parts, elems[r.IntN(len(elems))])
		}
		p := strings.Join(parts, "/")
		switch r.IntN(6) {
		case 0:
			p = "!" + p
		case 1:
			p = "**/" + p
		case 2:
			p = "!**/" + p
		}
		ps = append(ps, p)
	}
	return ps
}

type shown struct {
	Path          string
	Sent, NotSent int64
	Rule          int // line, 0 for none
	Excluded      bool
	More          int
	Children      []shown
}

func simplify(n *Node) shown {
	s := shown{Path: n.Path, Sent: n.Sent.Bytes, NotSent: n.NotSent.Bytes, Excluded: n.Excluded, More: n.More}
	if n.Rule != nil {
		s.Rule = n.Rule.Line
	}
	for _, c := range n.Children {
		s.Children = append(s.Children, simplify(c))
	}
	return s
}

// TestTree: the largest entries, largest first, an excluded subtree as one
// entry with its size and rule, and what each directory does not show.
func TestTree(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1000)
	dir := tree(t, "Dockerfile=FROM scratch\n", ".dockerignore=node_modules\n**/*.tmp\n",
		"assets/video.mp4="+big+big+big, "assets/logo.png="+big, "assets/a.txt=a", "assets/b.txt=b",
		"node_modules/p/index.js="+big+big, "node_modules/p/more.js="+big+big,
		"src/main.go="+big, "src/x.tmp="+big[:500], "README=r")
	rep, err := Walk(context.Background(), Options{Dir: dir, Rules: rules("node_modules", "**/*.tmp"), Dockerfile: "Dockerfile", Top: 6})
	if err != nil {
		t.Fatal(err)
	}
	want := shown{Path: ".", Sent: 3000 + 1000 + 2 + 1000 + 13 + 22 + 1, NotSent: 4000 + 500, More: 3, Children: []shown{
		{Path: "assets", Sent: 4002, More: 2, Children: []shown{
			{Path: "assets/video.mp4", Sent: 3000},
			{Path: "assets/logo.png", Sent: 1000},
		}},
		{Path: "node_modules", NotSent: 4000, Rule: 1, Excluded: true},
		{Path: "src", Sent: 1000, NotSent: 500, Children: []shown{
			{Path: "src/main.go", Sent: 1000},
			// src/x.tmp (500) is the 7th heaviest: not shown.
		}, More: 1},
	}}
	if diff := cmp.Diff(want, simplify(rep.Tree)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	if want := (Count{Entries: 10, Files: 8, Bytes: want.Sent}); rep.Sent != want {
		t.Errorf("sent %+v, want %+v", rep.Sent, want)
	}
	if want := (Count{Entries: 5, Files: 3, Bytes: 4500}); rep.NotSent != want {
		t.Errorf("not sent %+v, want %+v", rep.NotSent, want)
	}
}

func TestExcludedAreAllReported(t *testing.T) {
	t.Parallel()
	dir := tree(t, "Dockerfile=x", "a.log=1", "d/b.log=22", "node_modules/x/y=333", "keep/z=4", "e/x=5", "e/y=6", "f/keep=7", "f/drop=8")
	var got []string
	// e is entered for !e/keep, which is not there: e is one entry.
	_, err := Walk(context.Background(), Options{Dir: dir, Rules: rules("**/*.log", "node_modules", "e", "!e/keep", "f", "!f/keep"), Dockerfile: "Dockerfile", Top: 1,
		OnExcluded: func(e Excluded) {
			got = append(got, fmt.Sprintf("%s %d %d line %d", e.Path, e.Count.Entries, e.Count.Bytes, e.Rule.Line))
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.log 1 1 line 1", "d/b.log 1 2 line 1", "e 3 2 line 3", "f/drop 1 1 line 5", "node_modules 3 3 line 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("excluded (-want +got):\n%s", diff)
	}
}

// BenchmarkWalk walks a context of 20,000 files in 400 directories, a
// quarter of them left out as subtrees and some file by file.
func BenchmarkWalk(b *testing.B) {
	dir := b.TempDir()
	for d := range 400 {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", d), "inner")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 50 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d.txt", f)), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	o := Options{Dir: dir, Rules: rules("d0[0-9]*", "**/f1*.txt", "!d00*/inner/f00.txt", "*.log"), Dockerfile: "Dockerfile", Sources: []string{"d1*"}, Top: 20}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Walk(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}
