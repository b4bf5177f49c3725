//go:build linux

// Package report runs two builds through the mybuild binary on a real
// daemon and asserts the second build's report (--report=json): its
// first cache miss and why, the files that changed, the failed step. It
// holds tests only.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/testbed"
)

const base = "mybuild-test/busybox:latest"

// engine is a daemon and builder the scenarios run on.
type engine struct {
	name, host, lock string
	buildkit         bool
	env              []string
}

var engines = []engine{
	{name: "engine20-classic", host: "unix:///var/run/docker.sock", lock: "engine20", env: []string{"DOCKER_BUILDKIT=0"}},
	{name: "engine29-buildkit", host: "unix:///run/mybuild-engine29/docker.sock", lock: "engine29", buildkit: true},
}

var (
	mybuild  string
	setupErr error
)

func TestMain(m *testing.M) {
	os.Exit(testbed.Main(m, "mybuild-report-", nil, func(dir string) (func(), error) {
		var err error
		mybuild, err = testbed.BuildMybuild(dir)
		return nil, err
	}, &setupErr))
}

// miss is what a scenario asserts of the second report.
type miss struct {
	Reason string
	Step   string
	Old    string
	New    string
	Names  []string
	Files  []string // "path change"
}

// failed is the failed step a report names, and a line of its log.
type failed struct {
	Step, LogLine string
}

// bed is one scenario's run: its context, engine, image and environment.
type bed struct {
	dir, tag, base string
	e              engine
	env            []string
}

type scenario struct {
	name   string
	ignore string // a .dockerignore for both builds
	change func(t *testing.T, b *bed)
	args   []string // of the second build
	want   *miss    // nil: every step cached
	// wantBK is BuildKit's when it differs from the classic builder's.
	wantBK  *miss
	only    string // "buildkit": the scenario needs BuildKit's flags
	ownBase bool   // the base is an image of its own, not a tag of the shared one
	changes string // the second report's change counts
	fail    *failed
}

// anyDigest stands for an image ID or digest in Old and New, anyBase for
// the scenario's base image in Names: both differ each run.
const (
	anyDigest = "<digest>"
	anyBase   = "<base>"
)

var imageID = regexp.MustCompile(`^(sha256:)?[0-9a-f]{12,64}$`)

// dockerfile builds on {base}, the scenario's base tag (bed.write).
const dockerfile = "FROM {base} AS app\nARG V\nCOPY . /app\nRUN echo built $V\n"

func TestTwoBuilds(t *testing.T) {
	write := func(name, body string) func(*testing.T, *bed) {
		return func(t *testing.T, b *bed) { b.write(t, name, body) }
	}
	scenarios := []scenario{
		{name: "nothing changed", changes: "0 0 0 0"},
		{name: "one file changed", change: write("a.txt", "hello, world\n"), changes: "0 0 1 0",
			want: &miss{Reason: "files-changed", Step: "COPY . /app", Files: []string{"a.txt changed"}}},
		// Both caches hash contents: a hit, the touch counted as metadata.
		{name: "only touched", changes: "0 0 0 1", change: func(t *testing.T, b *bed) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(b.dir, "a.txt"), later, later); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "file added and one removed", changes: "1 1 0 0", change: func(t *testing.T, b *bed) {
			b.write(t, "b.txt", "new file\n")
			if err := os.Remove(filepath.Join(b.dir, "a.txt")); err != nil {
				t.Fatal(err)
			}
		}, want: &miss{Reason: "files-changed", Step: "COPY . /app", Files: []string{"b.txt added", "a.txt removed"}}},
		{name: "Dockerfile line edited", change: write("Dockerfile", strings.Replace(dockerfile, "echo built", "echo made", 1)), changes: "0 0 1 0",
			// COPY . copies the Dockerfile too: it misses first, and says why.
			want: &miss{Reason: "files-changed", Step: "COPY . /app", Files: []string{"Dockerfile changed"}}},
		{name: "RUN edited, Dockerfile not copied", ignore: "Dockerfile\n.dockerignore\n",
			change: write("Dockerfile", strings.Replace(dockerfile, "echo built", "echo made", 1)),
			want:   &miss{Reason: "instruction-changed", Step: "RUN echo made $V", Old: "RUN echo built $V", New: "RUN echo made $V"}},
		{name: "secret-looking build arg changed", args: []string{"--build-arg", "V=" + secret},
			want: &miss{Reason: "build-arg-changed", Step: "RUN echo built $V", Names: []string{"V"}}},
		{name: "--no-cache", args: []string{"--no-cache"},
			want:   &miss{Reason: "no-cache", Step: "ARG V"},
			wantBK: &miss{Reason: "no-cache", Step: "COPY . /app"}},
		{name: "--no-cache-filter", only: "buildkit", args: []string{"--no-cache-filter", "app"},
			wantBK: &miss{Reason: "no-cache-filter", Step: "COPY . /app"}},
		{name: "base re-tagged to another digest", change: retag, want: &miss{Reason: "base-changed", Step: "ARG V", Old: anyDigest, New: anyDigest, Names: []string{anyBase}},
			wantBK: &miss{Reason: "base-changed", Step: "COPY . /app", Old: anyDigest, New: anyDigest, Names: []string{anyBase}}},
		// A base of the scenario's own: no other build shares a step.
		{name: "cache pruned", ownBase: true, change: func(t *testing.T, b *bed) {
			if b.e.buildkit {
				docker(t, b, "builder", "prune", "-af")
			} else {
				docker(t, b, "rmi", "-f", b.tag) // its parents, the classic cache, go with it
			}
		}, want: &miss{Reason: "cache-pruned", Step: "ARG V"},
			wantBK: &miss{Reason: "cache-pruned", Step: "COPY . /app"}},
		{name: "failing RUN", change: write("Dockerfile", dockerfile+"RUN echo failing-step-says-so && exit 3\n"),
			want: &miss{Reason: "files-changed", Step: "COPY . /app", Files: []string{"Dockerfile changed"}},
			fail: &failed{Step: "RUN echo failing-step-says-so && exit 3", LogLine: "failing-step-says-so"}},
	}
	eachEngine(t, func(t *testing.T, e engine) {
		for _, sc := range scenarios {
			if sc.only == "buildkit" && !e.buildkit {
				continue
			}
			t.Run(sc.name, func(t *testing.T) { runScenario(t, e, sc) })
		}
	})
}

// eachEngine runs fn on each engine, holding the engine's lock.
func eachEngine(t *testing.T, fn func(*testing.T, engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			testbed.Need(t, setupErr, e.host)
			release, err := testbed.Lock(e.lock)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			fn(t, e)
		})
	}
}

// secret is a build arg's value that looks like a secret.
const secret = "s3cr3tVALUE0123456789abcdef"

func runScenario(t *testing.T, e engine, sc scenario) {
	token := fmt.Sprint(time.Now().UnixNano())
	b := &bed{dir: t.TempDir(), e: e, tag: "mybuild-report-test:" + token, base: "mybuild-report-base:" + token}
	cache := t.TempDir()
	b.env = testbed.CleanEnv(append([]string{"DOCKER_HOST=" + e.host, "XDG_CACHE_HOME=" + cache, "DOCKER_CONFIG=" + t.TempDir()}, e.env...)...)
	t.Cleanup(func() { dockerQuiet(e.host, "rmi", "-f", b.tag, b.base) })
	// The base under a tag of its own, which a scenario may move.
	docker(t, b, "tag", base, b.base)
	if sc.ownBase {
		retag(t, b)
	}
	// A token in the context keeps other runs' cache from serving the first build.
	files := map[string]string{"Dockerfile": dockerfile, "a.txt": "hello\n", "token": token}
	if sc.ignore != "" {
		files[".dockerignore"] = sc.ignore
	}
	for n, body := range files {
		b.write(t, n, body)
	}
	if _, stderr, err := run(b.dir, b.env, "--network", "none", "-t", b.tag, "."); err != nil {
		t.Fatalf("first build: %v\n%s", err, stderr)
	}
	if sc.change != nil {
		sc.change(t, b)
	}
	_, stderr, err := run(b.dir, b.env, append(append([]string{"--network", "none", "--report=json", "-t", b.tag}, sc.args...), ".")...)
	if (err != nil) != (sc.fail != nil) {
		t.Fatalf("second build: %v (want failure: %v)\n%s", err, sc.fail != nil, stderr)
	}
	rep, raw := parseReport(t, stderr)
	want := sc.want
	if e.buildkit && sc.wantBK != nil {
		want = sc.wantBK
	}
	if diff := cmp.Diff(want, rep.miss(b)); diff != "" {
		t.Errorf("first miss (-want +got):\n%s\nstderr:\n%s", diff, stderr)
	}
	if sc.changes != "" {
		if got := rep.changeCounts(); got != sc.changes {
			t.Errorf("changes (added removed changed metadata) = %s, want %s\nstderr:\n%s", got, sc.changes, stderr)
		}
	}
	if sc.fail != nil {
		fs := rep.FailedStep
		switch {
		case fs == nil:
			t.Errorf("no failed step in the report\nstderr:\n%s", stderr)
		case fs.Text != sc.fail.Step || !strings.Contains(strings.Join(fs.Log, "\n"), sc.fail.LogLine):
			t.Errorf("failed step %q with log %q, want %q with a line holding %q", fs.Text, fs.Log, sc.fail.Step, sc.fail.LogLine)
		}
	}
	// BuildKit's own log names a RUN with its arguments expanded, as
	// buildx's does: the report must not.
	if strings.Contains(raw, secret) || (!e.buildkit && strings.Contains(stderr, secret)) {
		t.Errorf("the build arg's value is in the report or the classic log")
	}
	filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("the build arg's value is in %s", p)
			}
		}
		return nil
	})
}

// report is the part of the JSON report the scenarios assert.
type report struct {
	Changes *struct {
		Added, Removed, Changed int
		MetadataOnly            int `json:"metadata_only"`
	}
	FirstMiss *struct {
		Reason, Step, Old, New string
		Names                  []string
		Files                  []struct{ Path, Change string }
	} `json:"first_miss"`
	FailedStep *struct {
		Text string
		Log  []string
	} `json:"failed_step"`
}

// parseReport reads the JSON report that ends stderr (a failed build's
// error follows it) and returns it with what follows.
func parseReport(t *testing.T, stderr string) (report, string) {
	t.Helper()
	i := strings.LastIndex(stderr, "\n{\n") + 1
	if strings.HasPrefix(stderr, "{\n") {
		i = 0
	}
	if !strings.HasPrefix(stderr[i:], "{\n") {
		t.Fatalf("no JSON report on stderr:\n%s", stderr)
	}
	var rep report
	if err := json.NewDecoder(strings.NewReader(stderr[i:])).Decode(&rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stderr[i:])
	}
	return rep, stderr[i:]
}

// miss is the report's first miss, with the image IDs or digests that
// differ each run as anyDigest and the scenario's base as anyBase.
func (r report) miss(b *bed) *miss {
	m := r.FirstMiss
	if m == nil {
		return nil
	}
	got := &miss{Reason: m.Reason, Step: m.Step, Old: m.Old, New: m.New}
	for _, d := range []*string{&got.Old, &got.New} {
		if imageID.MatchString(*d) {
			*d = anyDigest
		}
	}
	for _, n := range m.Names {
		if n == b.base || n == "docker.io/library/"+b.base {
			n = anyBase
		}
		got.Names = append(got.Names, n)
	}
	for _, f := range m.Files {
		got.Files = append(got.Files, f.Path+" "+f.Change)
	}
	return got
}

func (r report) changeCounts() string {
	if r.Changes == nil {
		return "no earlier build"
	}
	c := r.Changes
	return fmt.Sprintf("%d %d %d %d", c.Added, c.Removed, c.Changed, c.MetadataOnly)
}

// write writes a file of the scenario's context, {base} naming its base.
func (b *bed) write(t *testing.T, name, body string) {
	t.Helper()
	writeFile(t, b.dir, name, strings.ReplaceAll(body, "{base}", b.base))
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// retag builds another image under the scenario's base tag: the shared
// base with a layer more (a label alone would keep BuildKit's cache: its
// keys are the layers).
func retag(t *testing.T, b *bed) {
	t.Helper()
	other := t.TempDir()
	writeFile(t, other, "Dockerfile", "FROM "+base+"\nRUN echo "+b.tag+" > /retagged\n")
	if _, stderr, err := run(other, b.env, "--network", "none", "-t", b.base, "."); err != nil {
		t.Fatalf("building the new base: %v\n%s", err, stderr)
	}
}

// docker runs the docker CLI against the scenario's daemon.
func docker(t *testing.T, b *bed, args ...string) {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"-H", b.e.host}, args...)...)
	cmd.Env = b.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// dockerQuiet runs the docker CLI for a cleanup, whatever it answers.
func dockerQuiet(host string, args ...string) {
	_ = exec.Command("docker", append([]string{"-H", host}, args...)...).Run()
}

func run(dir string, env []string, args ...string) (string, string, error) {
	cmd := exec.Command(mybuild, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}
