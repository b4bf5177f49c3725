//go:build linux

// Package report runs two builds through the mybuild binary on a real
// daemon and asserts the second build's report (--report=json): its
// first cache miss and why. It holds tests only.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	env              []string
}

var engines = []engine{
	{name: "engine20-classic", host: "unix:///var/run/docker.sock", lock: "engine20", env: []string{"DOCKER_BUILDKIT=0"}},
}

var (
	mybuild  string
	setupErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mybuild-report-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mybuild, setupErr = testbed.BuildMybuild(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
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

type scenario struct {
	name   string
	files  map[string]string // the context of the first build
	change func(t *testing.T, dir string)
	args   []string // of the second build
	want   *miss    // nil: every step cached
}

const dockerfile = "FROM " + base + "\nARG V\nCOPY . /app\nRUN echo built $V\n"

func TestTwoBuilds(t *testing.T) {
	write := func(name, body string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	scenarios := []scenario{
		{name: "nothing changed", change: func(*testing.T, string) {}},
		{name: "one file changed", change: write("a.txt", "hello, world\n"),
			want: &miss{Reason: "files-changed", Step: "COPY . /app", Files: []string{"a.txt changed"}}},
		{name: "only touched", change: func(t *testing.T, dir string) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(dir, "a.txt"), later, later); err != nil {
				t.Fatal(err)
			}
		}}, // the classic cache hashes contents: a hit
		{name: "Dockerfile line edited", change: write("Dockerfile", strings.Replace(dockerfile, "echo built", "echo made", 1)),
			// COPY . copies the Dockerfile too: it misses first, and says why.
			want: &miss{Reason: "files-changed", Step: "COPY . /app", Files: []string{"Dockerfile changed"}}},
		{name: "secret-looking build arg changed", args: []string{"--build-arg", "V=s3cr3tVALUE0123456789abcdef"}, change: func(*testing.T, string) {},
			want: &miss{Reason: "build-arg-changed", Step: "RUN echo built $V", Names: []string{"V"}}},
		{name: "--no-cache", args: []string{"--no-cache"}, change: func(*testing.T, string) {},
			want: &miss{Reason: "no-cache", Step: "ARG V"}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			testbed.Need(t, setupErr, e.host)
			release, err := testbed.Lock(e.lock)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { runScenario(t, e, sc) })
			}
		})
	}
}

func runScenario(t *testing.T, e engine, sc scenario) {
	dir := t.TempDir()
	cache := t.TempDir()
	// A token in the context keeps other runs' cache from serving the first build.
	files := map[string]string{"Dockerfile": dockerfile, "a.txt": "hello\n", "token": fmt.Sprint(time.Now().UnixNano())}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tag := fmt.Sprintf("mybuild-report-test:%d", time.Now().UnixNano())
	t.Cleanup(func() { exec.Command("docker", "-H", e.host, "rmi", "-f", tag).Run() })
	env := testbed.CleanEnv(append([]string{"DOCKER_HOST=" + e.host, "XDG_CACHE_HOME=" + cache}, e.env...)...)
	if _, stderr, err := run(dir, env, "--network", "none", "-t", tag, "."); err != nil {
		t.Fatalf("first build: %v\n%s", err, stderr)
	}
	sc.change(t, dir)
	_, stderr, err := run(dir, env, append(append([]string{"--network", "none", "--report=json", "-t", tag}, sc.args...), ".")...)
	if err != nil {
		t.Fatalf("second build: %v\n%s", err, stderr)
	}
	i := strings.LastIndex(stderr, "\n{\n") + 1
	if strings.HasPrefix(stderr, "{\n") {
		i = 0
	}
	if i < 0 || !strings.HasPrefix(stderr[i:], "{\n") {
		t.Fatalf("no JSON report on stderr:\n%s", stderr)
	}
	var rep struct {
		FirstMiss *struct {
			Reason, Step, Old, New string
			Names                  []string
			Files                  []struct{ Path, Change string }
		} `json:"first_miss"`
	}
	if err := json.Unmarshal([]byte(stderr[i:]), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stderr[i:])
	}
	var got *miss
	if m := rep.FirstMiss; m != nil {
		got = &miss{Reason: m.Reason, Step: m.Step, Old: m.Old, New: m.New, Names: m.Names}
		for _, f := range m.Files {
			got.Files = append(got.Files, f.Path+" "+f.Change)
		}
	}
	if diff := cmp.Diff(sc.want, got); diff != "" {
		t.Errorf("first miss (-want +got):\n%s\nstderr:\n%s", diff, stderr)
	}
	secret := "s3cr3tVALUE0123456789abcdef"
	if strings.Contains(stderr, secret) {
		t.Errorf("the build arg's value is on stderr")
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

func run(dir string, env []string, args ...string) (string, string, error) {
	cmd := exec.Command(mybuild, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}
