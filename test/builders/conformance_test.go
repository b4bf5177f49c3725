//go:build linux

package builders

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mybuild/mybuild/internal/testbed"
)

// builderKind is one of the three ways a build runs, each with its
// reference: the classic builder (DOCKER_BUILDKIT=0 docker build), the
// docker driver (buildx on Engine 29's BuildKit) and the remote driver
// (buildx with a buildkitd node of the bed).
type builderKind struct {
	name string
	host string   // DOCKER_HOST, "" for none
	env  []string // both clients'
	args []string // before the case's
	base string   // the image the cases build FROM
	lock string   // testbed.Lock held while its cases run
	// left is what a build left: the image's filesystem, as a listing.
	left func(t *testing.T, who, out string) (args []string, view func() string)
}

func builderKinds() []builderKind {
	toTar := func(t *testing.T, who, out string) ([]string, func() string) {
		tarPath := filepath.Join(out, who+".tar")
		return []string{"-o", "type=tar,dest=" + tarPath}, func() string { return testbed.TarFileView(tarPath) }
	}
	return []builderKind{
		{name: "classic", host: engine20, env: []string{"DOCKER_BUILDKIT=0"}, base: "mybuild-test/busybox:latest", lock: "engine20",
			left: func(t *testing.T, who, out string) ([]string, func() string) {
				tag := fmt.Sprintf("mybuild-conformance-%s:%d", who, time.Now().UnixNano())
				return []string{"-t", tag}, func() string { return exported(t, engine20, tag, filepath.Join(out, who+".tar")) }
			}},
		{name: "docker driver", host: engine29, base: "mybuild-test/busybox:latest", lock: "engine29", left: toTar},
		{name: "remote driver", args: []string{"--builder", "single"}, base: bed.reg.Addr + "/base:1", left: toTar},
	}
}

// exported is the filesystem of a container made from tag (docker export),
// as a listing; the image is removed.
func exported(t *testing.T, host, tag, tarPath string) string {
	t.Helper()
	defer func() { _, _ = bed.docker("-H", host, "rmi", "-f", tag) }()
	r, err := bed.docker("-H", host, "create", tag)
	if err != nil {
		return "no image: " + err.Error()
	}
	id := strings.TrimSpace(r.Stdout)
	defer func() { _, _ = bed.docker("-H", host, "rm", "-f", id) }()
	if _, err := bed.docker("-H", host, "export", "-o", tarPath, id); err != nil {
		t.Fatal(err)
	}
	return testbed.TarFileView(tarPath)
}

// conformanceCase is a build that means the same on every builder.
type conformanceCase struct {
	name  string
	files map[string]string // {base} in a Dockerfile is the kind's base
	args  []string
	fails bool
	// leaves is a path the image must hold (the view is not empty).
	leaves string
}

var conformanceCases = []conformanceCase{
	{name: "COPY WORKDIR and RUN", files: map[string]string{
		"Dockerfile": "FROM {base}\nWORKDIR /app\nCOPY . .\nRUN echo made > made.txt && ls /app > listing\n",
		"a.txt":      "a\n", "src/b.go": "package b\n",
	}, leaves: "app/made.txt"},
	{name: ".dockerignore with an exception", files: map[string]string{
		"Dockerfile":    "FROM {base}\nCOPY . /ctx\n",
		".dockerignore": "*.log\n!keep.log\nsecret/\n",
		"drop.log":      "x", "keep.log": "kept", "secret/key": "k", "app.txt": "app",
	}, leaves: "ctx/keep.log"},
	{name: "build arg and target", args: []string{"--build-arg", "WHO=conformance", "--target", "second"}, files: map[string]string{
		"Dockerfile": "FROM {base} AS first\nRUN echo first > /first\nFROM {base} AS second\nARG WHO=nobody\nCOPY --from=first /first /from-first\nRUN echo $WHO > /who\nFROM {base} AS third\nRUN echo third > /third\n",
	}, leaves: "from-first"},
	{name: "-f names a Dockerfile elsewhere", args: []string{"-f", "build/app.Dockerfile"}, files: map[string]string{
		"build/app.Dockerfile": "FROM {base}\nCOPY app.txt /\nENV MODE=custom\n",
		"app.txt":              "app",
	}, leaves: "app.txt"},
	{name: "failing RUN", fails: true, files: map[string]string{
		"Dockerfile": "FROM {base}\nRUN echo before && exit 3\n",
	}},
	{name: "COPY of a missing file", fails: true, files: map[string]string{
		"Dockerfile": "FROM {base}\nCOPY missing.txt /\n",
	}},
	{name: "no Dockerfile", fails: true, files: map[string]string{"a.txt": "a"}},
}

// TestConformance runs one table of cases on the three builders, each
// against its reference: the same exit code, the same error line, the same
// filesystem left.
func TestConformance(t *testing.T) {
	need(t, engine20, engine29)
	for _, k := range builderKinds() {
		t.Run(k.name, func(t *testing.T) {
			if k.lock != "" {
				release, err := testbed.Lock(k.lock)
				if err != nil {
					t.Fatal(err)
				}
				defer release()
			}
			for _, tc := range conformanceCases {
				t.Run(tc.name, func(t *testing.T) { conform(t, k, tc) })
			}
		})
	}
}

func conform(t *testing.T, k builderKind, tc conformanceCase) {
	files := map[string]string{}
	for n, body := range tc.files {
		files[n] = strings.ReplaceAll(body, "{base}", k.base)
	}
	ctxDir := writeFiles(t, files)
	out := t.TempDir()
	type outcome struct {
		Code   int
		Error  string // the last error line, volatile parts masked
		Left   string
		stderr string // shown, not compared
	}
	runOne := func(who string, client testbed.Client) outcome {
		leftArgs, view := k.left(t, who, out)
		var global []string
		if k.host != "" {
			global = []string{"-H", k.host}
		}
		args := append(append(append([]string{"--network", "none"}, k.args...), leftArgs...), tc.args...)
		r, err := testbed.Run(testbed.Cmd{Bin: client.Bin, Args: client.Args(global, append(args, ".")), Dir: ctxDir, Env: bed.env(k.env...)})
		if err != nil {
			t.Fatal(err)
		}
		o := outcome{Code: r.Code, stderr: r.Stderr}
		if tc.fails {
			o.Error = errorLine(r.Stderr)
		} else if r.Code == 0 {
			o.Left = view()
		}
		return o
	}
	ref, cand := runOne("docker", testbed.Docker), runOne("mybuild", testbed.Mybuild(bed.mybuild))
	if (ref.Code != 0) != tc.fails {
		t.Fatalf("the reference exits %d (want failure: %v):\n%s", ref.Code, tc.fails, ref.stderr)
	}
	if !tc.fails && !strings.Contains(ref.Left, tc.leaves) {
		t.Fatalf("the reference's image has no %q:\n%s", tc.leaves, ref.Left)
	}
	if diff := cmp.Diff(ref, cand, cmpopts.IgnoreUnexported(outcome{})); diff != "" {
		t.Errorf("(-docker +mybuild):\n%s\ndocker:\n%s\nmybuild:\n%s", diff, ref.stderr, cand.stderr)
	}
}

var (
	errorWords = regexp.MustCompile(`(?i)\berror\b|returned a non-zero code|unable to prepare context`)
	// Step numbers, times, digests, image IDs, BuildKit's ref IDs.
	volatile = regexp.MustCompile(`#[0-9]+ |[0-9]+\.[0-9]+s\b|sha256:[0-9a-f]{64}|\b[0-9a-f]{12}\b|\b[0-9a-z]{25}\b`)
)

// errorLine is the last line of stderr that reports an error, with step
// numbers, times and IDs masked.
func errorLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if errorWords.MatchString(lines[i]) {
			return volatile.ReplaceAllString(strings.TrimSpace(lines[i]), "<v>")
		}
	}
	return ""
}
