//go:build linux

package buildkit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/testbed"
)

// bkCase is one invocation of both clients on one engine. In args, env
// and stdin: {who} is the client ("bkref", "bkcnd", "bkwrm": tags do not
// meet), {out} its own output directory, {reg} the bed's registry,
// {http} its HTTP server, {agent} the ssh-agent's socket, {key} an ssh key
// file, {closed} a loopback address where nobody listens.
type bkCase struct {
	name string
	// on names the one engine the case is for ("" both).
	on    string
	files map[string]string
	// dir is where both clients run, under the context's parent ("ctx"
	// when empty): a Dockerfile outside the context runs from above it.
	dir   string
	links map[string]string // symlinks made in the case's directory: name → target
	stdin string
	env   []string
	pre   [][]string // run first by each client, not compared (a cache to import)
	args  []string
	// cold prunes the engine's build cache before each client runs:
	// the case compares steps that run, not steps cached. Without it,
	// docker runs the case once first, so both clients find it cached.
	cold bool
	// image is the ref the build leaves in the engine ({who}).
	image string
	// push is the repository:tag the build pushes to {reg} ({who}).
	push string
	// same names files under {out} whose bytes both clients make alike
	// (a reproducible build's digests).
	same []string
	// racy names vertices that a daemon shows or not by its timing (a
	// step beside one that failed): they are not compared.
	racy []string
	// racyEnd names vertices whose end is not compared ({http} as in
	// args): the remote context buildx and mybuild read for its policy
	// file shares its vertex with the build's, and Engine 20.10 shows that
	// read's end or loses it by timing, for either client.
	racyEnd []string
	// differs, when set, replaces the comparison of a deliberate
	// difference: it checks each client's run itself.
	differs func(t *testing.T, ref, cand run)
}

type run struct {
	testbed.Result
	progress testbed.Progress
	image    string // imageView
	outputs  string // outputsView
	pushed   string
}

const runTimeout = 2 * time.Minute

// compare runs tc with both clients on e and compares their runs.
func compare(t *testing.T, e engine, tc bkCase) {
	t.Helper()
	// Not t.TempDir: a comma of the test's name would end an -o value.
	root, err := os.MkdirTemp(bed.dir, "case-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	bedRefs := strings.NewReplacer("{reg}", bed.reg.Addr, "{http}", bed.svc.addr, "{closed}", bed.svc.closed)
	written := map[string]string{}
	for name, content := range tc.files {
		written[name] = bedRefs.Replace(content)
	}
	if err := testbed.WriteFiles(filepath.Join(root, "ctx"), written); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "ctx"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range tc.links {
		if err := os.Symlink(target, filepath.Join(root, "ctx", name)); err != nil {
			t.Fatal(err)
		}
	}
	if !tc.cold {
		clientRun(t, e, tc, root, "bkwrm")
	}
	ref := clientRun(t, e, tc, root, "bkref")
	cand := clientRun(t, e, tc, root, "bkcnd")
	// What differs is told again after the runs' output, which can be long
	// (rawjson): a CI log's tail then still shows it.
	var diffs []string
	fail := func(format string, args ...any) {
		diffs = append(diffs, fmt.Sprintf(format, args...))
		t.Error(diffs[len(diffs)-1])
	}
	defer func() {
		if t.Failed() || os.Getenv("MYBUILD_BKDIFF_VERBOSE") != "" {
			t.Logf("docker: exit %d\nstdout: %.2000q\n%s", ref.Code, ref.Stdout, ref.Stderr)
			t.Logf("mybuild: exit %d\nstdout: %.2000q\n%s", cand.Code, cand.Stdout, cand.Stderr)
			t.Logf("docker left:\nimage: %.3000s\noutputs: %.3000s\npushed: %.3000s", ref.image, ref.outputs, ref.pushed)
		}
		if len(diffs) > 0 {
			t.Logf("what differed:\n%s", strings.Join(diffs, "\n"))
		}
	}()
	if tc.differs != nil {
		tc.differs(t, ref, cand)
		return
	}
	for _, name := range tc.same {
		a, errA := os.ReadFile(filepath.Join(root, "bkref", name))
		b, errB := os.ReadFile(filepath.Join(root, "bkcnd", name))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			fail("%s differs: docker %q (%v), mybuild %q (%v)", name, a, errA, b, errB)
		}
	}
	for _, r := range []run{ref, cand} {
		if strings.Contains(r.Stderr, "docker.io/v2/") {
			fail("a daemon was sent to docker.io: the test bed is loopback only")
		}
	}
	if ref.Code != cand.Code {
		fail("exit code: docker %d, mybuild %d", ref.Code, cand.Code)
	}
	if diff := cmp.Diff(ref.Stdout, cand.Stdout); diff != "" {
		fail("stdout (-docker +mybuild):\n%s", diff)
	}
	for _, p := range []*testbed.Progress{&ref.progress, &cand.progress} {
		p.Vertices = slices.DeleteFunc(p.Vertices, func(v testbed.Vertex) bool { return slices.Contains(tc.racy, v.Name) })
		policyStep(p)
		for i, v := range p.Vertices {
			if slices.ContainsFunc(tc.racyEnd, func(n string) bool { return bedRefs.Replace(n) == v.Name }) {
				p.Vertices[i].End = ""
			}
		}
	}
	testbed.Settle(&ref.progress, &cand.progress)
	if diff := cmp.Diff(ref.progress, cand.progress); diff != "" {
		fail("progress (-docker +mybuild):\n%s", diff)
	}
	for _, c := range []struct{ what, ref, cand string }{
		{"image", ref.image, cand.image},
		{"outputs", ref.outputs, cand.outputs},
		{"push", ref.pushed, cand.pushed},
	} {
		if diff := cmp.Diff(strings.Split(c.ref, "\n"), strings.Split(c.cand, "\n")); diff != "" {
			fail("%s (-docker +mybuild):\n%s", c.what, diff)
		}
	}
}

// clientRun runs tc's steps with one client and returns its last step as
// compared: who and its paths made alike, the progress parsed, what it
// left read and removed.
func clientRun(t *testing.T, e engine, tc bkCase, root, who string) run {
	t.Helper()
	out := filepath.Join(root, who)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	expand := func(s string) string {
		return strings.NewReplacer("{who}", who, "{out}", out, "{reg}", bed.reg.Addr,
			"{http}", bed.svc.addr, "{agent}", bed.svc.sock, "{key}", bed.svc.key,
			"{closed}", bed.svc.closed, "{root}", root).Replace(s)
	}
	image, push := expand(tc.image), expand(tc.push)
	if image != "" {
		t.Cleanup(func() { _, _ = docker(e, "rmi", "-f", image) })
	}
	if tc.cold && who != "bkwrm" {
		if _, err := docker(e, "builder", "prune", "-af"); err != nil {
			t.Fatal(err)
		}
	}
	client := testbed.Mybuild(bed.mybuild)
	if who != "bkcnd" {
		client = testbed.Docker
	}
	dir := filepath.Join(root, "ctx")
	if tc.dir != "" {
		dir = filepath.Join(root, tc.dir)
	}
	var env []string
	for _, kv := range tc.env {
		env = append(env, expand(kv))
	}
	step := func(args []string) testbed.Result {
		var a []string
		for _, s := range args {
			a = append(a, expand(s))
		}
		r, err := testbed.Run(testbed.Cmd{Bin: client.Bin, Args: client.Args(nil, a), Dir: dir, Env: bed.env(e, env...),
			Stdin: []byte(expand(tc.stdin)), Timeout: runTimeout})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := run{Result: testbed.Steps(t, who, step, tc.pre, tc.args)}
	if who == "bkwrm" {
		return r
	}
	var id string
	if image != "" {
		r.image, id = imageView(e, image)
		checkID(t, who, id, r.Stdout, out)
	}
	r.outputs = outputsView(out)
	if push != "" {
		r.pushed = pushedView(push)
	}
	// The program's name is its own.
	alike := strings.NewReplacer(out, "OUT", root, "ROOT", who, "WHO", "docker: 'docker buildx build'", "mybuild: 'mybuild'",
		"docker buildx build", "mybuild", "docker build", "mybuild").Replace
	r.Stdout, r.Stderr = alike(stdoutView(r.Stdout)), alike(r.Stderr)
	r.image, r.outputs, r.pushed = alike(r.image), alike(r.outputs), alike(r.pushed)
	if slices.ContainsFunc(append(tc.args, tc.env...), func(a string) bool { return strings.HasSuffix(a, "rawjson") }) {
		r.progress = testbed.ParseRawJSON(r.Stderr)
	} else {
		r.progress = testbed.ParsePlain(r.Stderr)
	}
	return r
}

// checkID holds a client to itself: what -q prints and what --iidfile
// holds is the ID of the image it left.
func checkID(t *testing.T, who, id, stdout, out string) {
	t.Helper()
	if s := strings.TrimSpace(stdout); testbed.ReDigest.MatchString(s) && s != id {
		t.Errorf("%s: stdout %q, the image is %s", who, s, id)
	}
	if b, err := os.ReadFile(filepath.Join(out, "iid")); err == nil && string(b) != id {
		t.Errorf("%s: --iidfile holds %q, the image is %s", who, b, id)
	}
}

// prepare gives e the bases the --pull cases use: the base under the name
// of a registry that refuses (only in the store), and under the bed's
// registry, pushed there.
func prepare(t *testing.T, e engine) {
	t.Helper()
	closed, pushed := bed.svc.closed+"/busybox:1", bed.reg.Addr+"/busybox:1"
	for _, args := range [][]string{{"tag", base, closed}, {"tag", base, pushed}, {"push", "-q", pushed}, {"rmi", pushed}} {
		if _, err := docker(e, args...); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = docker(e, "rmi", closed) })
}

// TestBuildKit runs every case on both engines, the engines side by side.
func TestBuildKit(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			need(t, e)
			prepare(t, e)
			for _, tc := range cases() {
				if tc.on != "" && tc.on != e.name {
					continue
				}
				t.Run(tc.name, func(t *testing.T) { compare(t, e, tc) })
			}
		})
	}
}
