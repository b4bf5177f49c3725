package cli

// Direct tests of checks that only test/differential caught before: the
// daemon-support checks of checkDaemonSupport and -q's replay of the
// buffered output when the request fails. Not parallel: runInProcess
// passes --config, which sets a package global of docker's config package.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

func TestDaemonSupportChecks(t *testing.T) {
	for _, tc := range []struct {
		name       string
		daemon     []enginetest.Option
		args       []string
		wantStderr string // "" for a build that is sent and succeeds
	}{
		{
			name:       "--platform below API 1.38",
			daemon:     []enginetest.Option{enginetest.WithAPIVersion("1.37")},
			args:       []string{"--platform", "linux/amd64"},
			wantStderr: `"--platform" requires API version 1.38, but the Docker daemon API version is 1.37` + "\n",
		},
		{
			name:   "--platform at API 1.38",
			daemon: []enginetest.Option{enginetest.WithAPIVersion("1.38")},
			args:   []string{"--platform", "linux/amd64"},
		},
		{
			name:       "--network below API 1.25",
			daemon:     []enginetest.Option{enginetest.WithAPIVersion("1.24")},
			args:       []string{"--network", "none"},
			wantStderr: `"--network" requires API version 1.25, but the Docker daemon API version is 1.24` + "\n",
		},
		{
			name:       "--squash without experimental features",
			args:       []string{"--squash"},
			wantStderr: `"--squash" is only supported on a Docker daemon with experimental features enabled` + "\n",
		},
		{
			name:       "--squash=false is checked too",
			args:       []string{"--squash=false"},
			wantStderr: `"--squash" is only supported on a Docker daemon with experimental features enabled` + "\n",
		},
		{
			name:   "--squash with experimental features",
			daemon: []enginetest.Option{enginetest.WithExperimental(true)},
			args:   []string{"--squash"},
		},
		{
			name:       "--squash below API 1.25: only the version",
			daemon:     []enginetest.Option{enginetest.WithAPIVersion("1.24")},
			args:       []string{"--squash"},
			wantStderr: `"--squash" requires API version 1.25, but the Docker daemon API version is 1.24` + "\n",
		},
		{
			name:   "every complaint, one a line",
			daemon: []enginetest.Option{enginetest.WithAPIVersion("1.24")},
			args:   []string{"--network", "none", "--platform", "linux/amd64", "--squash"},
			wantStderr: `"--network" requires API version 1.25, but the Docker daemon API version is 1.24` + "\n" +
				`"--platform" requires API version 1.38, but the Docker daemon API version is 1.24` + "\n" +
				`"--squash" requires API version 1.25, but the Docker daemon API version is 1.24` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := enginetest.New(tc.daemon...)
			host := serve(t, d, "unix")
			r := runInProcess(t, map[string]string{"DOCKER_HOST": host}, append(tc.args, buildContext(t, 0))...)
			builds := len(d.Requests())
			if tc.wantStderr == "" {
				if r.code != 0 || builds != 1 {
					t.Errorf("got %s\nwith %d build requests; want exit 0 and one build", r, builds)
				}
				return
			}
			if r.code != 1 || r.stderr != tc.wantStderr || r.stdout != "" {
				t.Errorf("got %s\nwant exit 1, no stdout and stderr %q", r, tc.wantStderr)
			}
			if builds != 0 {
				t.Errorf("%d build requests sent, want none", builds)
			}
		})
	}
}

// TestQuietReplaysOutputOnSendError: with -q the upload line is buffered;
// when the request fails it is printed on stderr before the error, as
// docker does (its runBuild prints progBuff when ImageBuild fails).
func TestQuietReplaysOutputOnSendError(t *testing.T) {
	host := serve(t, enginetest.New(enginetest.WithBuildError(500, "internal boom")), "unix")
	r := runInProcess(t, map[string]string{"DOCKER_HOST": host}, "-q", buildContext(t, 0))
	want := inProcess{
		code:   1,
		stderr: "Sending build context to Docker daemon  2.048kB\r\r\nError response from daemon: internal boom\n",
	}
	r.elapsed = 0
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(inProcess{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestNoColorDropsDaemonColours: with NO_COLOR the red the daemon puts
// around RUN's stderr is dropped from plain output too (docker keeps it);
// without it the output is docker's, escapes and all.
func TestNoColorDropsDaemonColours(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		wantStdout string
	}{
		{"NO_COLOR", map[string]string{"NO_COLOR": "1"}, "out\nerr\n"},
		{"NO_COLOR empty is unset", map[string]string{"NO_COLOR": ""}, "out\n\x1b[91merr\n\x1b[0m"},
		{"unset", nil, "out\n\x1b[91merr\n\x1b[0m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := serve(t, enginetest.New(enginetest.WithRecordedStream("run-exit3.jsonl")), "unix")
			env := map[string]string{"DOCKER_HOST": host}
			for k, v := range tc.env {
				env[k] = v
			}
			r := runInProcess(t, env, "--progress=plain", buildContext(t, 0))
			if r.code != 3 || !strings.Contains(r.stdout, tc.wantStdout) {
				t.Errorf("got %s\nwant exit 3 and stdout holding %q", r, tc.wantStdout)
			}
			if tc.env["NO_COLOR"] != "" && strings.Contains(r.stdout, "\x1b") {
				t.Errorf("escape sequences left with NO_COLOR: %q", r.stdout)
			}
		})
	}
}

// TestTTYSizingWalkEnds: on a terminal a walk beside the upload finds the
// meter's total; it has ended when the build returns, also when the daemon
// breaks the upload off long before the walk would end by itself.
func TestTTYSizingWalkEnds(t *testing.T) {
	host := serve(t, enginetest.New(enginetest.WithResetDuringUpload(64<<10)), "unix")
	dir := buildContext(t, 1<<20)
	for i := range 5000 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runInProcess(t, map[string]string{"DOCKER_HOST": host}, "--progress=tty", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "Sending build context to Docker daemon") {
		t.Errorf("got %s\nwant exit 1 after the upload's line", r)
	}
	if dump := goroutineDump(); strings.Contains(dump, "buildcontext.(*Tar).Size(") {
		t.Errorf("the sizing walk still runs:\n%s", dump)
	}
}
