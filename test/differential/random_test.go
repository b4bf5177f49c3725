//go:build linux

package differential

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// TestRandomContexts is a seeded, randomized differential test of the
// context walk and its tar: each iteration makes a random context tree
// (nested directories, odd names and modes, symlinks, hard links, FIFOs,
// sockets, mtimes from 1901 to 2446 with nanoseconds) and a random
// .dockerignore from a grammar aimed at the hard parts of patternmatcher
// (** anywhere, ! exceptions, escapes, classes, prefixes, invalid
// patterns, CRLF, BOM), sometimes with -f naming another Dockerfile, -f -
// or a Dockerfile outside the context, sometimes run as nobody; then it runs
// docker and mybuild on it as the table cases are run and compares.
//
// MYBUILD_RANDOM_SEED (default 1) is the first iteration's seed, each
// iteration i uses seed+i; MYBUILD_RANDOM_N (default 15) is the number of
// iterations. A failing iteration is shrunk (MYBUILD_RANDOM_SHRINK=0 turns
// that off) and printed with the environment that replays it alone.
func TestRandomContexts(t *testing.T) {
	requireClients(t)
	seed := envUint(t, "MYBUILD_RANDOM_SEED", 1)
	n := envUint(t, "MYBUILD_RANDOM_N", 15)
	shrink := os.Getenv("MYBUILD_RANDOM_SHRINK") != "0"
	for i := range n {
		s := seed + i
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			t.Parallel()
			rc := generate(s)
			docker, mybuild := runRandom(t, rc)
			if testing.Verbose() {
				t.Logf("docker: exit %d, %d build requests, %d entries, %q", docker.Code, len(docker.Builds), entries(docker), firstLine(docker.Stderr))
			}
			if len(differences(docker, mybuild)) == 0 {
				return
			}
			t.Logf("MYBUILD_RANDOM_SEED=%d MYBUILD_RANDOM_N=1 replays this iteration; as generated:\n%s", s, rc)
			if shrink {
				rc = shrinkCase(t, rc)
				t.Logf("shrunk to:\n%s", rc)
				docker, mybuild = runRandom(t, rc)
			}
			compare(t, docker, mybuild)
			t.Logf("docker (banner removed, normalised): exit %d\n--- stdout\n%s--- stderr\n%s", docker.Code, docker.Stdout, docker.Stderr)
			t.Logf("mybuild (normalised): exit %d\n--- stdout\n%s--- stderr\n%s", mybuild.Code, mybuild.Stdout, mybuild.Stderr)
		})
	}
}

// TestRandomFound replays, as fixed cases, the differences the random test
// found (shrunk).
func TestRandomFound(t *testing.T) {
	requireClients(t)
	df := rnode{node: file("Dockerfile", dockerfile)}
	for _, c := range []struct {
		name string
		rc   randCase
	}{
		// docker: "error reading .dockerignore: read …: is a directory";
		// mybuild printed it without the prefix.
		{".dockerignore is a directory", randCase{tree: []rnode{df, {node: dir(".dockerignore")}}}},
		{".dockerignore is a directory, -f -", randCase{tree: []rnode{{node: dir(".dockerignore")}},
			args: []string{"-f", "-"}, stdin: []byte(dockerfile), splice: true}},
		// docker's corrupt tar (corruptSymlinkedIgnore).
		{"symlinked .dockerignore, -f -", randCase{tree: []rnode{{node: file("ignore.txt", "")}, {node: link(".dockerignore", "ignore.txt")}},
			args: []string{"-f", "-"}, stdin: []byte(dockerfile), splice: true}},
		{"dangling .dockerignore symlink, Dockerfile outside", randCase{tree: []rnode{{node: link(".dockerignore", "missing")}},
			outside: []rnode{{node: file("Dockerfile.out", dockerfile)}}, args: []string{"-f", "../Dockerfile.out"}, splice: true}},
		// abortedUpload must see mybuild's truncated tar before
		// splicedDockerfile accepts it.
		{"unreadable file, Dockerfile outside", randCase{tree: []rnode{{node: fileMode("secret", "x", 0o000)}},
			outside: []rnode{{node: file("Dockerfile.out", dockerfile)}}, args: []string{"-f", "../Dockerfile.out"}, splice: true, unprivileged: true}},
		// A pattern that passes patternmatcher.New but fails to compile
		// once evaluated: docker's pre-check fails on it.
		{"pattern failing when evaluated", randCase{tree: []rnode{df, {node: file(".dockerignore", "[z-a]\n")}}}},
		{"pattern failing when evaluated, -f -", randCase{tree: []rnode{{node: file(".dockerignore", "\\1\n")}},
			args: []string{"-f", "-"}, stdin: []byte(dockerfile), splice: true}},
		// Only the tar walk evaluates it (inside a directory the
		// pre-check skips): docker logs "Error matching" and ends the tar
		// there.
		{"pattern failing in the tar walk only", randCase{tree: []rnode{df, {node: file("a/x", "x")}, {node: file("a/y", "y")}, {node: file("b", "b")},
			{node: file(".dockerignore", "*\n!a/x\n[z-a]\n")}}}},
		// The exception for an excluded Dockerfile is not a valid pattern.
		{"Dockerfile exception not a pattern", randCase{tree: []rnode{{node: file("[/Dockerfile", dockerfile)}, {node: file(".dockerignore", "*\n")}},
			args: []string{"-f", "[/Dockerfile"}}},
		// A socket is skipped with a warning, but docker's pre-check
		// fails later in the walk and docker warns about nothing.
		{"socket, then an unlistable directory", randCase{tree: []rnode{{node: sock(".s")}, {node: dirMode("x", 0o311)}, df},
			unprivileged: true}},
		// The pre-check excludes deep (and skips it), the tar walk sends
		// deep/keep/.git, which cannot be read: docker's corrupt tar
		// (unreadableAfterPreCheck).
		{"unreadable file only the tar walk sends", randCase{tree: []rnode{df, {node: fileMode("deep/keep/.git", "x", 0o200)},
			{node: file(".dockerignore", "!//deep/**/ab[c-e]\n//deep\n!x/../*/**\n")}}, unprivileged: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			docker, mybuild := runRandom(t, c.rc)
			compare(t, docker, mybuild)
			if t.Failed() {
				t.Logf("case:\n%s", c.rc)
				t.Logf("docker: exit %d\n%s", docker.Code, docker.Stderr)
				t.Logf("mybuild: exit %d\n%s", mybuild.Code, mybuild.Stderr)
			}
		})
	}
}

func entries(r result) int {
	n := 0
	for _, b := range r.Builds {
		n += len(b.Entries)
	}
	return n
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func envUint(t *testing.T, name string, def uint64) uint64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// rnode is a node with its own mtime (the zero time: the harness's mtime).
type rnode struct {
	node
	mtime time.Time
}

// randCase is one generated invocation.
type randCase struct {
	seed uint64
	// tree is the context (relative to it), outside more nodes relative
	// to the work directory that holds ctx.
	tree, outside []rnode
	// ignore is the path in tree whose content is the .dockerignore text
	// (".dockerignore", or the file a .dockerignore symlink names), for
	// printing and shrinking; "" for none.
	ignore string
	args   []string // after "build"; the context is always "."
	stdin  []byte
	// splice: -f - or a Dockerfile outside the context (docker adds it
	// under a random name).
	splice bool
	// unprivileged: both clients run as nobody (see runAsNobody).
	unprivileged bool
}

func (rc randCase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  seed %d; args %q; unprivileged %v\n", rc.seed, rc.args, rc.unprivileged)
	if rc.stdin != nil {
		fmt.Fprintf(&b, "  stdin %q\n", rc.stdin)
	}
	for _, set := range []struct {
		name  string
		nodes []rnode
	}{{"ctx/", rc.tree}, {"outside ctx: ", rc.outside}} {
		for _, n := range set.nodes {
			fmt.Fprintf(&b, "  %s%s\n", set.name, n)
		}
	}
	if rc.ignore != "" {
		for _, n := range rc.tree {
			if n.path == rc.ignore && n.kind == regular {
				fmt.Fprintf(&b, "  .dockerignore (%s), line by line:\n", rc.ignore)
				for _, l := range strings.SplitAfter(n.content, "\n") {
					if l != "" {
						fmt.Fprintf(&b, "    %q\n", l)
					}
				}
			}
		}
	}
	return b.String()
}

func (n rnode) String() string {
	mt := "mtime " + mtime.Format(time.RFC3339Nano) + " (default)"
	if !n.mtime.IsZero() {
		mt = "mtime " + n.mtime.UTC().Format(time.RFC3339Nano)
	}
	mode := ""
	if n.chmod {
		mode = fmt.Sprintf(" mode %#o", n.mode)
	}
	switch n.kind {
	case directory:
		return fmt.Sprintf("dir     %q%s %s", n.path, mode, mt)
	case symlink:
		return fmt.Sprintf("symlink %q -> %q %s", n.path, n.target, mt)
	case hardlink:
		return fmt.Sprintf("hard    %q => %q", n.path, n.target)
	case fifo:
		return fmt.Sprintf("fifo    %q %s", n.path, mt)
	case socket:
		return fmt.Sprintf("socket  %q %s", n.path, mt)
	}
	return fmt.Sprintf("file    %q%s %s content %q", n.path, mode, mt, n.content)
}

// testCase is how runClient runs rc.
func (rc randCase) testCase() testCase {
	tc := testCase{args: rc.args, stdin: rc.stdin, unprivileged: rc.unprivileged, cwd: "ctx"}
	// mybuild imitates docker's logrus lines (sockets are skipped with
	// one), which carry the time.
	// Context errors (unreadable files, patterns that fail when
	// evaluated) abort mybuild's upload (README). Before
	// splicedDockerfile, which accepts a tar without its trailer: an
	// aborted upload has none either.
	tc.normalize = append(tc.normalize, logTime, abortedUpload)
	if rc.splice {
		tc.normalize = append(tc.normalize, splicedDockerfile)
	}
	return tc
}

// cantStat is docker's pre-check failing on a directory it cannot read.
var cantStat = regexp.MustCompile(`error checking context: can't stat '([^']*)'`)

// runRandom makes rc's tree and runs both clients on it, as runCase does,
// with rc's mtimes set on top of makeTree's.
func runRandom(t *testing.T, rc randCase) (docker, mybuild result) {
	t.Helper()
	root, err := os.MkdirTemp("", "rand")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	e := env{root: root, network: "unix", addr: filepath.Join(root, "d.sock"), config: filepath.Join(root, "home", ".docker")}
	work := filepath.Join(root, "w")
	var nodes []rnode
	for _, n := range rc.tree {
		n.path = filepath.Join("ctx", n.path)
		if n.kind == hardlink {
			n.target = filepath.Join("ctx", n.target)
		}
		nodes = append(nodes, n)
	}
	nodes = append(append(nodes, rnode{node: dir("ctx")}), rc.outside...)
	plain := make([]node, len(nodes))
	for i, n := range nodes {
		plain[i] = n.node
	}
	makeTree(t, work, plain)
	// Deepest first, so that making a child does not move its directory's
	// mtime; a hard link sets its inode's (the last one listed wins).
	slices.SortStableFunc(nodes, func(a, b rnode) int { return strings.Compare(b.path, a.path) })
	for _, n := range nodes {
		if n.mtime.IsZero() {
			continue
		}
		if err := lutimes(filepath.Join(work, n.path), n.mtime); err != nil {
			t.Fatalf("set mtime of %s: %v", n.path, err)
		}
	}

	tc := rc.testCase()
	var got [2]result
	for i, c := range clients() {
		got[i] = runClient(t, tc, e, c)
	}
	docker, mybuild = got[0], got[1]
	docker.Stderr = strings.Replace(docker.Stderr, banner, "", 1)
	if rc.splice && rc.symlinkedIgnore() && corruptSymlinkedIgnore(docker, mybuild) {
		docker = mybuild
	}
	if rc.unprivileged && unreadableAfterPreCheck(docker, mybuild) {
		docker = mybuild
	}
	for _, n := range tc.normalize {
		n.fn(t, &docker, e)
		n.fn(t, &mybuild, e)
	}
	// Deliberate difference (README): an unreadable directory that
	// .dockerignore excludes, and that no exception reaches into, fails
	// docker's pre-check (docker/for-linux#380); mybuild does not read it.
	// Precisely: when docker fails on a directory its pre-check excludes
	// and mybuild did not, docker, run again with that directory made
	// readable, must do what mybuild did.
	for range 8 {
		m := cantStat.FindStringSubmatch(docker.Stderr)
		if m == nil || docker.Code != 1 || mybuild.Stderr == docker.Stderr || !rc.unprivileged {
			break
		}
		fi, err := os.Lstat(m[1])
		if err != nil || !fi.IsDir() || !preCheckExcludes(filepath.Join(work, "ctx"), m[1]) {
			break
		}
		if err := os.Chmod(m[1], 0o755); err != nil {
			t.Fatal(err)
		}
		docker = runClient(t, tc, e, clients()[0])
		docker.Stderr = strings.Replace(docker.Stderr, banner, "", 1)
		for _, n := range tc.normalize {
			n.fn(t, &docker, e)
		}
	}
	return docker, mybuild
}

func (rc randCase) symlinkedIgnore() bool {
	for _, n := range rc.tree {
		if n.path == ".dockerignore" && n.kind == symlink {
			return true
		}
	}
	return false
}

// corruptSymlinkedIgnore reports docker's corrupt tar when the Dockerfile
// is spliced in (-f -, or a Dockerfile outside the context) and
// .dockerignore is a symlink: go-archive's ReplaceFileTarWrapper appends
// "\n.dockerfile.<hex>\n" to the symlink entry's (empty) content and
// writes it back with the symlink's header and a size of 34, which no tar
// reader takes (symlinks have no data): the daemon fails to read the rest
// and docker exits 1 with "error during connect". mybuild sends the
// symlink as it is and appends a .dockerignore of its own, as for a
// context without one (the daemon's extraction replaces the symlink with
// it). Precisely: docker sent the corrupt entry, mybuild sent the same
// entries before it, the symlink intact, and the two appended entries
// last.
func corruptSymlinkedIgnore(docker, mybuild result) bool {
	if docker.Code != 1 || mybuild.Code != 0 || len(docker.Builds) != 1 || len(mybuild.Builds) != 1 ||
		!strings.Contains(docker.Stderr, "error during connect: ") {
		return false
	}
	d, m := docker.Builds[0].Entries, mybuild.Builds[0].Entries
	k := slices.IndexFunc(d, func(e enginetest.Entry) bool { return e.Name == ".dockerignore" })
	if k < 0 || d[k].Typeflag != tar.TypeSymlink || d[k].Size != 34 || len(m) < k+3 ||
		!cmp.Equal(d[:k], m[:k], cmpopts.EquateEmpty()) {
		return false
	}
	want := d[k]
	want.Size, want.SHA256, want.Content = 0, m[k].SHA256, m[k].Content
	if !cmp.Equal(want, m[k], cmpopts.EquateEmpty()) {
		return false
	}
	df, di := m[len(m)-2], m[len(m)-1]
	return randomDockerfile.MatchString(df.Name) && df.Typeflag == tar.TypeReg &&
		di.Name == ".dockerignore" && di.Typeflag == tar.TypeReg && di.Mode == 0o600 &&
		string(di.Content) == ".dockerignore\n"+df.Name+"\n"
}

// unreadableAfterPreCheck reports docker's corrupt tar for a file its
// pre-check does not look at (it excludes the file) but its tar walk sends
// (the two match patterns differently) and that cannot be read: docker
// writes the header, cannot open the file, logs "Can't add file …" and
// leaves the tar truncated ("Can't close tar writer: archive/tar: missed
// writing N bytes"). mybuild logs the same first line and leaves the file
// out of a well-formed tar (README, deliberate differences). Precisely:
// both logged that file, docker's tar is broken right at it, and mybuild
// sent the same entries before it and no entry of that name.
func unreadableAfterPreCheck(docker, mybuild result) bool {
	if docker.Code != mybuild.Code || len(docker.Builds) != 1 || len(mybuild.Builds) != 1 ||
		docker.Builds[0].TarError == "" || mybuild.Builds[0].TarError != "" ||
		!strings.Contains(docker.Stderr, `msg="Can't close tar writer: archive/tar: missed writing `) {
		return false
	}
	d, m := docker.Builds[0].Entries, mybuild.Builds[0].Entries
	k := len(d) - 1
	if k < 0 || len(m) < k || !cmp.Equal(d[:k], m[:k], cmpopts.EquateEmpty()) ||
		slices.ContainsFunc(m, func(e enginetest.Entry) bool { return e.Name == d[k].Name }) {
		return false
	}
	line := regexp.MustCompile(`msg="Can't add file (/[^"]*)/` + regexp.QuoteMeta(d[k].Name) + ` to tar: open [^"]*: permission denied"`)
	return line.MatchString(docker.Stderr) && line.MatchString(mybuild.Stderr)
}

// preCheckExcludes says whether docker's pre-check excludes path (in
// context dir ctx) by its .dockerignore.
func preCheckExcludes(ctx, path string) bool {
	rel, err := filepath.Rel(ctx, path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "../") {
		return false
	}
	b, err := os.ReadFile(filepath.Join(ctx, ".dockerignore"))
	if err != nil {
		return false
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(b))
	if err != nil {
		return false
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return false
	}
	ok, err := pm.MatchesOrParentMatches(rel)
	return ok && err == nil
}

// differences is compare without a *testing.T (for shrinking): the names of
// the parts that differ.
func differences(docker, mybuild result) []string {
	var diffs []string
	for _, p := range comparedParts(docker, mybuild) {
		if !cmp.Equal(p.d, p.m, compareOptions) {
			diffs = append(diffs, p.name)
		}
	}
	return diffs
}

// shrinkCase removes nodes and .dockerignore lines, and resets modes and
// mtimes, while the same parts still differ.
func shrinkCase(t *testing.T, rc randCase) randCase {
	t.Helper()
	docker, mybuild := runRandom(t, rc)
	want := strings.Join(differences(docker, mybuild), ",")
	if want == "" {
		t.Log("shrink: the difference did not recur")
		return rc
	}
	budget := 250
	still := func(c randCase) bool {
		if budget <= 0 {
			return false
		}
		budget--
		d, m := runRandom(t, c)
		return strings.Join(differences(d, m), ",") == want
	}
	for changed := true; changed && budget > 0; {
		changed = false
		// Drop nodes, last first (a directory with what is under it, a
		// file with the hard links to it).
		for i := len(rc.tree) - 1; i >= 0 && budget > 0; i-- {
			if i >= len(rc.tree) {
				continue
			}
			if c, ok := rc.without(i); ok && still(c) {
				rc, changed = c, true
			}
		}
		// Drop .dockerignore lines.
		for j := 0; budget > 0; j++ {
			c, ok := rc.withoutLine(j)
			if !ok {
				break
			}
			if still(c) {
				rc, changed = c, true
				j--
			}
		}
		// Plain modes and mtimes, plain content.
		for i := range rc.tree {
			n := rc.tree[i]
			if n.path == rc.ignore {
				continue
			}
			for _, simpler := range []func(rnode) (rnode, bool){
				func(n rnode) (rnode, bool) { ok := n.chmod; n.chmod, n.mode = false, 0; return n, ok },
				func(n rnode) (rnode, bool) { ok := !n.mtime.IsZero(); n.mtime = time.Time{}; return n, ok },
				func(n rnode) (rnode, bool) {
					ok := n.kind == regular && len(n.content) > 1 && !strings.HasPrefix(n.content, "FROM")
					n.content = "x"
					return n, ok
				},
			} {
				s, ok := simpler(rc.tree[i])
				if !ok || budget <= 0 {
					continue
				}
				c := rc.clone()
				c.tree[i] = s
				if still(c) {
					rc, changed = c, true
				}
			}
		}
	}
	return rc
}

func (rc randCase) clone() randCase {
	rc.tree = slices.Clone(rc.tree)
	rc.outside = slices.Clone(rc.outside)
	return rc
}

// without drops tree[i], what lies under it and hard links to it; never
// the Dockerfile -f names or the .dockerignore.
func (rc randCase) without(i int) (randCase, bool) {
	gone := rc.tree[i].path
	if gone == rc.ignore || gone == ".dockerignore" {
		return rc, false
	}
	c := rc.clone()
	c.tree = c.tree[:0]
	for _, n := range rc.tree {
		if n.path == gone || strings.HasPrefix(n.path, gone+"/") || (n.kind == hardlink && (n.target == gone || strings.HasPrefix(n.target, gone+"/"))) {
			continue
		}
		c.tree = append(c.tree, n)
	}
	return c, true
}

// withoutLine drops line j of the .dockerignore text.
func (rc randCase) withoutLine(j int) (randCase, bool) {
	for i, n := range rc.tree {
		if n.path != rc.ignore || n.kind != regular {
			continue
		}
		lines := strings.SplitAfter(n.content, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if j >= len(lines) {
			return rc, false
		}
		c := rc.clone()
		c.tree[i].content = strings.Join(slices.Delete(lines, j, j+1), "")
		return c, true
	}
	return rc, false
}

// --- the generator

// names are the building blocks of paths: specials of the pattern syntax,
// spaces, unicode, leading dots and the build files' own names.
var names = []string{
	"a", "b", "c", "ab", "abc", "x.txt", "y.md", "z.go", "keep", "sub", "deep", "node_modules", ".git",
	".hidden", "..dots", "...", "with space", " lead", "trail ", "st*r", "*", "q?", "?", "br[ack]", "[",
	"]", "back\\slash", "\\", "!bang", "!", "#hash", "#", "ünï", "日本語", "-dash", "a.b.c", "Dockerfile",
	"dockerfile", "Dockerfile.sub", ".dockerignore", "~tilde", "$x", "a^b", "a+b", "(p)", "{b,c}", "a|b",
	"\t", "x\ny", "\r", ".wh.x", "a\\*",
}

type gen struct {
	r     *rand.Rand
	rc    randCase
	used  map[string]bool
	dirs  []string // "" is the context root
	files []string // regular files, for hard links
	paths []string // every path, for patterns
}

func generate(seed uint64) randCase {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed)), used: map[string]bool{}, dirs: []string{""}}
	g.rc.seed = seed
	g.rc.unprivileged = g.r.IntN(100) < 15
	g.fill("", 0)

	// The Dockerfile and -f.
	switch k := g.r.IntN(100); {
	case k < 50:
		g.add(rnode{node: file("Dockerfile", dockerfile), mtime: g.mtime()})
	case k < 57:
		g.add(rnode{node: file("dockerfile", dockerfile), mtime: g.mtime()})
	case k < 78:
		// -f in a directory of the tree, relative or absolute.
		d := g.dirs[g.r.IntN(len(g.dirs))]
		p := g.free(d, []string{"Dockerfile", "Dockerfile.dev", "my Dockerfile", "Dockerfile[1]"}[g.r.IntN(4)])
		g.add(rnode{node: file(p, dockerfile), mtime: g.mtime()})
		if k < 72 {
			g.rc.args = append(g.rc.args, "-f", p)
		} else {
			g.rc.args = append(g.rc.args, "-f", "@WORK@/ctx/"+p)
		}
		if g.r.IntN(2) == 0 && !g.used["Dockerfile"] {
			g.add(rnode{node: file("Dockerfile", "FROM other\n"), mtime: g.mtime()})
		}
	case k < 83:
		// Dockerfile is a symlink: dockerfile= names the target.
		d := g.dirs[g.r.IntN(len(g.dirs))]
		p := g.free(d, "Dockerfile.real")
		g.add(rnode{node: file(p, dockerfile), mtime: g.mtime()})
		if !g.used["Dockerfile"] {
			g.add(rnode{node: link("Dockerfile", p), mtime: g.mtime()})
		}
	case k < 89:
		g.rc.args = append(g.rc.args, "-f", "-")
		g.rc.stdin = []byte(dockerfile)
		g.rc.splice = true
		if g.r.IntN(2) == 0 && !g.used["Dockerfile"] {
			g.add(rnode{node: file("Dockerfile", "FROM other\n"), mtime: g.mtime()})
		}
	case k < 94:
		g.rc.args = append(g.rc.args, "-f", "../Dockerfile.out")
		g.rc.outside = append(g.rc.outside, rnode{node: file("Dockerfile.out", dockerfile)})
		g.rc.splice = true
	case k < 97:
		// -f names a directory: sent as is.
		d := g.dirs[g.r.IntN(len(g.dirs))]
		if d == "" {
			d = "."
		}
		g.rc.args = append(g.rc.args, "-f", d)
	default:
		// No Dockerfile at all.
	}

	// The .dockerignore.
	if !g.used[".dockerignore"] {
		switch k := g.r.IntN(100); {
		case k < 12:
		case k < 88:
			g.rc.ignore = ".dockerignore"
			n := rnode{node: file(".dockerignore", g.ignoreText()), mtime: g.mtime()}
			if g.r.IntN(8) == 0 {
				n.mode, n.chmod = g.fileMode(), true
			}
			g.add(n)
		case k < 94:
			p := g.free("", "ignore.txt")
			g.rc.ignore = p
			g.add(rnode{node: file(p, g.ignoreText()), mtime: g.mtime()})
			g.add(rnode{node: link(".dockerignore", p), mtime: g.mtime()})
		case k < 97:
			g.add(rnode{node: link(".dockerignore", "missing"), mtime: g.mtime()})
		default:
			g.add(rnode{node: dir(".dockerignore"), mtime: g.mtime()})
		}
	}
	return g.rc
}

func (g *gen) add(n rnode) {
	g.used[n.path] = true
	g.paths = append(g.paths, n.path)
	g.rc.tree = append(g.rc.tree, n)
	switch n.kind {
	case directory:
		g.dirs = append(g.dirs, n.path)
	case regular:
		g.files = append(g.files, n.path)
	}
}

// free is dir/name, or a variant of it that is not taken yet.
func (g *gen) free(dir, name string) string {
	p := join(dir, name)
	for i := 2; g.used[p]; i++ {
		p = join(dir, name+strconv.Itoa(i))
	}
	return p
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (g *gen) pick(s []string) string { return pickOf(g, s) }

func (g *gen) name() string {
	switch g.r.IntN(20) {
	case 0:
		// Long: over 100 bytes (USTAR's name field) or near 255.
		return strings.Repeat(g.pick([]string{"l", "é", "m"}), 60+g.r.IntN(100))
	case 1:
		return g.pick(names) + g.pick(names)
	}
	return g.pick(names)
}

func (g *gen) fill(parent string, depth int) {
	n := g.r.IntN(5)
	if depth == 0 {
		n = 2 + g.r.IntN(7)
	}
	for range n {
		if len(g.rc.tree) >= 40 {
			return
		}
		name := g.name()
		p := join(parent, name)
		if g.used[p] || len(name) > 255 || (depth == 0 && (name == "Dockerfile" || name == "dockerfile" || name == ".dockerignore")) {
			continue
		}
		switch k := g.r.IntN(100); {
		case k < 48:
			n := rnode{node: file(p, g.content()), mtime: g.mtime()}
			if g.r.IntN(3) == 0 {
				n.mode, n.chmod = g.fileMode(), true
			}
			g.add(n)
		case k < 74 && depth < 4:
			n := rnode{node: dir(p), mtime: g.mtime()}
			if g.r.IntN(6) == 0 {
				n.mode, n.chmod = pickOf(g, []os.FileMode{0o700, 0o000, 0o555, 0o311, 0o1777, 0o2755, 0o777, 0o500}), true
			}
			g.add(n)
			g.fill(p, depth+1)
		case k < 88:
			g.add(rnode{node: link(p, g.linkTarget(parent)), mtime: g.mtime()})
		case k < 95:
			if len(g.files) == 0 {
				continue
			}
			g.add(rnode{node: hard(p, g.pick(g.files))})
		case k < 98:
			g.add(rnode{node: pipe(p), mtime: g.mtime()})
		default:
			// Socket paths must fit in 108 bytes.
			if len(p) > 40 {
				continue
			}
			g.add(rnode{node: sock(p), mtime: g.mtime()})
		}
	}
}

func pickOf[T any](g *gen, s []T) T { return s[g.r.IntN(len(s))] }

// fileMode is a file's mode: unreadable ones (for runs as nobody),
// setuid, setgid and sticky bits.
func (g *gen) fileMode() os.FileMode {
	return pickOf(g, []os.FileMode{0o644, 0o755, 0o600, 0o000, 0o400, 0o200, 0o4755, 0o2755, 0o1777, 0o6711, 0o777, 0o444, 0o7000})
}

func (g *gen) content() string {
	switch g.r.IntN(6) {
	case 0:
		return ""
	case 1:
		return strings.Repeat("0123456789abcdef", 32+g.r.IntN(8)) // past one 512-byte block
	}
	return fmt.Sprintf("content %d\n", g.r.IntN(1000))
}

func (g *gen) linkTarget(dir string) string {
	switch g.r.IntN(10) {
	case 0:
		return "/etc/passwd"
	case 1:
		return "/nonexistent/x"
	case 2:
		return strings.Repeat("../", 1+g.r.IntN(4)) + "escape"
	case 3:
		return "dangling"
	case 4:
		return "."
	case 5:
		return strings.Repeat("t", 90+g.r.IntN(80))
	}
	if len(g.paths) == 0 {
		return "a"
	}
	// An existing path, relative to the link's directory.
	p := g.pick(g.paths)
	rel, err := filepath.Rel(filepath.Join("/c", dir), filepath.Join("/c", p))
	if err != nil {
		return p
	}
	return rel
}

// mtime is a random modification time; the zero time keeps the harness's.
func (g *gen) mtime() time.Time {
	ns := int64(g.r.IntN(1e9))
	switch g.r.IntN(14) {
	case 0, 1, 2, 3:
		return time.Time{}
	case 4:
		return time.Unix(g.r.Int64N(1<<31), ns) // 1970 … 2038
	case 5:
		return time.Unix(-g.r.Int64N(1<<31), ns) // 1901 … 1970
	case 6:
		return time.Unix(0, 0)
	case 7:
		return time.Unix(-1, ns)
	case 8:
		return time.Unix(1<<31, ns) // past 2038
	case 9:
		return time.Unix(8589934591, ns) // the last USTAR mtime (2242)
	case 10:
		return time.Unix(8589934592, ns)
	case 11:
		return time.Unix(9300000000+g.r.Int64N(4e9), ns) // 2264 … 2391, past UnixNano
	case 12:
		return time.Unix(-1<<31, 0) // the first ext4 second, 1901
	}
	return time.Unix(15032385535, ns) // the last ext4 second, 2446
}

// ignoreText is a .dockerignore: patterns made from the tree's paths,
// with special lines, CRLF, a BOM, blank lines and comments.
func (g *gen) ignoreText() string {
	var b strings.Builder
	if g.r.IntN(12) == 0 {
		b.WriteString("\ufeff")
	}
	lines := g.r.IntN(9)
	// Invalid patterns end the build at once: in one file in eight.
	invalid := g.r.IntN(8) == 0
	for i := range lines {
		l := g.patternLine()
		for !invalid && invalidPattern(l) {
			l = g.patternLine()
		}
		b.WriteString(l)
		if i == lines-1 && g.r.IntN(4) == 0 {
			break // no final newline
		}
		if g.r.IntN(6) == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// invalidPattern: the line is a pattern patternmatcher refuses, at once or
// when it is first evaluated.
func invalidPattern(line string) bool {
	patterns, err := ignorefile.ReadAll(strings.NewReader(line))
	if err != nil {
		return true
	}
	for _, p := range patterns {
		pm, err := patternmatcher.New([]string{strings.TrimPrefix(p, "!")})
		if err != nil {
			return true
		}
		if _, err := pm.Matches("x"); err != nil || p == "!" {
			return true
		}
	}
	return false
}

var specialLines = []string{
	"", "   ", "\t", "# comment", "#", " # not a comment", "[", "\\", "!", "! ", "*", "**", "**/", "/", ".",
	"..", "./", "../", "Dockerfile", ".dockerignore", "!Dockerfile", "!.dockerignore", "*/", "**/*", "!**",
	"a[", "[]", "[a-]", "[z-a]", "\\1", "a\\", "[^a]*", "[!a]*", "**/.*", ".*", "!*/keep", "**/**", "*/*/",
	"**/Dockerfile", "dockerfile", "!dockerfile", "sub/**/*.md", "!**/keep", "**/keep/**", "\\!bang",
	"\\#hash", "#hash", "[[]", "\\[", "\\*", "*\\*", "a/**/b", "**/a/**", "!./a", "./../a", "a/./b", "a/../b",
	"*.*", "?", "??", "???*", "[a-c]", "[a-c]*/**", "!sub/deep", "**/y", ".git", "!.git/HEAD",
}

func (g *gen) patternLine() string {
	var p string
	if g.r.IntN(4) == 0 || len(g.paths) == 0 {
		p = g.pick(specialLines)
	} else {
		p = g.pathPattern()
	}
	if g.r.IntN(10) == 0 {
		p = g.pick([]string{" ", "  ", "\t"}) + p
	}
	if g.r.IntN(10) == 0 {
		p += g.pick([]string{" ", "  ", "\t", "\r"})
	}
	return p
}

// pathPattern matches (or nearly) a path of the tree.
func (g *gen) pathPattern() string {
	segs := strings.Split(g.pick(g.paths), "/")
	segs = segs[:1+g.r.IntN(len(segs))]
	for i, s := range segs {
		segs[i] = g.segment(s)
	}
	switch g.r.IntN(8) {
	case 0:
		segs = append([]string{"**"}, segs...)
	case 1:
		segs = append(segs, "**")
	case 2:
		at := g.r.IntN(len(segs) + 1)
		segs = slices.Insert(segs, at, "**")
	}
	p := strings.Join(segs, "/")
	p = g.pick([]string{"", "", "", "", "/", "./", "../", "./../", "x/../", "//"}) + p
	p += g.pick([]string{"", "", "", "", "/", "/.", "/*", "//"})
	if g.r.IntN(3) == 0 {
		p = g.pick([]string{"!", "!", "! ", "!/"}) + p
	}
	return p
}

func (g *gen) segment(s string) string {
	esc := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			if strings.ContainsRune(`*?[\`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	rs := []rune(s)
	switch g.r.IntN(12) {
	case 0:
		return s // unescaped
	case 1:
		return "*"
	case 2:
		return "**"
	case 3:
		i := g.r.IntN(len(rs))
		return esc(string(rs[:i])) + "?" + esc(string(rs[i+1:]))
	case 4:
		return esc(string(rs[:g.r.IntN(len(rs))])) + "*"
	case 5:
		return "*" + esc(string(rs[1+g.r.IntN(len(rs)):]))
	case 6:
		i := g.r.IntN(len(rs))
		lo := rs[i]
		cls := "[" + string(lo) + "-" + string(lo+rune(g.r.IntN(3))) + "]"
		if g.r.IntN(3) == 0 {
			cls = "[^" + string(lo+1) + "]"
		}
		if strings.ContainsRune(`\]-^`, lo) {
			cls = "[\\" + string(lo) + "]"
		}
		return esc(string(rs[:i])) + cls + esc(string(rs[i+1:]))
	case 7:
		return "*" + esc(s) + "*"
	}
	return esc(s)
}
