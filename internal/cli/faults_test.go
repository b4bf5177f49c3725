package cli

// The fault matrix (issue #6): mybuild run in-process against fake daemons
// that misbehave (pkg/engine/enginetest/faults.go). The tests of this file
// are not parallel: --config sets a package global of docker's config
// package, and the leak check counts the process's goroutines.

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/endpoint"
	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// inProcess is the outcome of one in-process run.
type inProcess struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

func (r inProcess) String() string {
	out := r.stdout
	if len(out) > 2000 {
		out = out[:1000] + "\n[…]\n" + out[len(out)-1000:]
	}
	return fmt.Sprintf("exit %d after %s\n--- stdout\n%s\n--- stderr\n%s", r.code, r.elapsed.Round(time.Millisecond), out, r.stderr)
}

// runInProcess runs mybuild's root command in this process as Main does
// (without the signal handling), with env as the whole environment and an
// empty configuration directory. It fails the test if the output shows a
// panic or a goroutine dump (row 7 of the matrix).
func runInProcess(t *testing.T, env map[string]string, args ...string) inProcess {
	t.Helper()
	ios, _, stdout, stderr := iostreams.Test()
	f := &Factory{
		IO:        ios,
		Getenv:    func(k string) string { return env[k] },
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	cmd := NewRootCmd(f, nil)
	cmd.SetArgs(append([]string{"--config", t.TempDir()}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := cmd.ExecuteContext(ctx)
	r := inProcess{code: exitCode(err, stderr), elapsed: time.Since(start)}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if ctx.Err() != nil {
		t.Fatalf("mybuild still ran after a minute: %s", r)
	}
	assertNoPanic(t, r.stdout+r.stderr)
	return r
}

// assertNoPanic fails the test when out holds a panic or a goroutine dump.
func assertNoPanic(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Errorf("panic output:\n%s", out)
	}
}

// buildContext makes a context directory: a Dockerfile and, when
// bigBytes > 0, a file of that size (bigger than the connection's buffers,
// so that the upload is still running when a fault strikes).
func buildContext(t *testing.T, bigBytes int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nLABEL a=b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if bigBytes > 0 {
		if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, bigBytes), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serve starts d on a unix socket or a loopback TCP port and returns the
// daemon address for DOCKER_HOST.
func serve(t *testing.T, d *enginetest.Daemon, network string) string {
	t.Helper()
	if network == "tcp" {
		return "tcp://" + d.ListenTCP(t)
	}
	return "unix://" + d.ListenUnix(t)
}

// freeTCPAddr is a loopback address nothing listens on.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Row 1: nothing listening.
func TestFaultNothingListening(t *testing.T) {
	dir := buildContext(t, 0)
	for _, host := range []string{
		"unix://" + filepath.Join(t.TempDir(), "none.sock"),
		"tcp://" + freeTCPAddr(t),
	} {
		r := runInProcess(t, map[string]string{"DOCKER_HOST": host}, dir)
		want := "Cannot connect to the Docker daemon at " + host + ". Is the docker daemon running?\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("%s: got %s\nwant exit 1 and stderr %q", host, r, want)
		}
		if r.elapsed > 5*time.Second {
			t.Errorf("%s: took %s, want under 5 s", host, r.elapsed)
		}
	}
}

// hangBound is the longest mybuild waits on a daemon that accepts
// connections but stops answering, for a MYBUILD_TIMEOUT of timeout: the
// start-up ping's own 2 s (pings share the timeout), then the timeout on
// the response headers or on a stalled upload; the upload watchdog looks
// every timeout/4, so it fires up to a quarter late.
func hangBound(timeout time.Duration) time.Duration {
	return build.InitialPingTimeout + timeout*5/4
}

// TestFaultDefaultTimeoutBound: with MYBUILD_TIMEOUT unset, a hanging
// daemon is given up on within 40 s (row 2).
func TestFaultDefaultTimeoutBound(t *testing.T) {
	d, err := endpoint.DaemonTimeout("")
	if err != nil || d != 30*time.Second {
		t.Fatalf("default MYBUILD_TIMEOUT = %s, %v; want 30s", d, err)
	}
	if b := hangBound(d); b > 40*time.Second {
		t.Errorf("a hanging daemon may be waited on for %s, want at most 40 s", b)
	}
}

// Row 2: the daemon accepts but never answers: the ping, the upload or the
// response headers. MYBUILD_TIMEOUT=2s stands in for the default 30 s.
func TestFaultHangingDaemon(t *testing.T) {
	const timeout = 2 * time.Second
	for _, tc := range []struct {
		name    string
		opt     enginetest.Option
		bigFile int
		what    string
		atLeast time.Duration
	}{
		{"ping never answered", enginetest.WithHang(), 0, "answer /_ping", timeout},
		{"upload stalls", enginetest.WithBuildHang(64 << 10), 16 << 20, "read the build context", timeout},
		{"no answer after the upload", enginetest.WithBuildHang(-1), 0, "answer the request", timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := serve(t, enginetest.New(tc.opt), "unix")
			r := runInProcess(t, map[string]string{"DOCKER_HOST": host, "MYBUILD_TIMEOUT": "2s"}, buildContext(t, tc.bigFile))
			want := fmt.Sprintf("the Docker daemon at %s did not %s within 2s (set MYBUILD_TIMEOUT to wait longer, 0 to wait forever)\n", host, tc.what)
			if r.code != 1 || r.stderr != want {
				t.Errorf("got %s\nwant exit 1 and stderr %q", r, want)
			}
			// Slack for a loaded machine; the bound itself is hangBound.
			if limit := hangBound(timeout) + 3*time.Second; r.elapsed > limit || r.elapsed < tc.atLeast {
				t.Errorf("gave up after %s, want between %s and %s", r.elapsed, tc.atLeast, limit)
			}
			t.Logf("gave up after %s (bound %s)", r.elapsed.Round(time.Millisecond), hangBound(timeout))
		})
	}
}

// goroutineDump is every goroutine's stack, for a failure message.
func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// openFDs maps this process's open file descriptors to what they are.
func openFDs(t *testing.T) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list open files: %v", err)
	}
	fds := map[string]string{}
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		fds[e.Name()] = target
	}
	return fds
}

// settle polls n every 20 ms for up to limit until it is at most want, and
// returns its last value.
func settle(limit time.Duration, want int, n func() int) int {
	deadline := time.Now().Add(limit)
	for {
		got := n()
		if got <= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var resetError = regexp.MustCompile(`^error during connect: Post "http://[^"]+/v1\.41/build\?dockerfile=Dockerfile&version=1": [^\n]+\n$`)

// Row 3: the daemon resets the connection in the middle of the upload:
// one error line, exit 1, and nothing left running or open.
func TestFaultResetDuringUpload(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			d := enginetest.New(enginetest.WithResetDuringUpload(64 << 10))
			host := serve(t, d, network)
			dir := buildContext(t, 16<<20)
			fdsBefore := openFDs(t)
			before := runtime.NumGoroutine()

			r := runInProcess(t, map[string]string{"DOCKER_HOST": host}, dir)
			if r.code != 1 || !resetError.MatchString(r.stderr) {
				t.Errorf("got %s\nwant exit 1 and one line matching %s", r, resetError)
			}
			if reqs := d.Requests(); len(reqs) != 1 || reqs[0].BodySize != 64<<10 {
				t.Errorf("the daemon did not reset the upload after 64 KiB: %+v", reqs)
			}

			if n := settle(5*time.Second, before, runtime.NumGoroutine); n > before {
				t.Errorf("%d goroutines left behind (%d before the run):\n%s", n-before, before, goroutineDump())
			}
			if n := settle(5*time.Second, len(fdsBefore), func() int { return len(openFDs(t)) }); n > len(fdsBefore) {
				var left []string
				for fd, target := range openFDs(t) {
					if fdsBefore[fd] != target {
						left = append(left, fd+" -> "+target)
					}
				}
				t.Errorf("%d file descriptors left open: %v", n-len(fdsBefore), left)
			}
		})
	}
}

// Rows 4 and 5: what the daemon answers. Where docker has a message, it is
// docker 28.2.2's (test/differential runs docker on the same answers).
func TestFaultDaemonAnswers(t *testing.T) {
	label := mustRecorded(t, "label.jsonl")
	firstLine := label[:strings.Index(string(label), "\n")+1]
	longText := strings.Repeat("y", 1<<20+4096)
	sock := func(t *testing.T, d *enginetest.Daemon) string { return serve(t, d, "unix") }
	for _, tc := range []struct {
		name       string
		opt        enginetest.Option
		wantCode   int
		wantStderr func(host string) string
		wantStdout string // a part of stdout
	}{
		{
			name:       "not JSON",
			opt:        enginetest.WithStream([]byte(`{"stream":"a\n"}` + "\r\nnot json\r\n")),
			wantCode:   1,
			wantStderr: fixed("invalid character 'o' in literal null (expecting 'u')\n"),
			wantStdout: "\na\n",
		},
		{
			name:       "line over 1 MB",
			opt:        enginetest.WithStream([]byte(`{"stream":"` + longText + `\n"}` + "\r\n" + `{"stream":"after\n"}` + "\r\n")),
			wantStderr: fixed(""),
			wantStdout: "\n" + longText + "\nafter\n",
		},
		{
			name:       "truncated in a line",
			opt:        enginetest.WithTruncatedStream(label[:len(label)-20]),
			wantCode:   1,
			wantStderr: fixed("unexpected EOF\n"),
			wantStdout: "Step 1/2 : FROM scratch\n",
		},
		{
			name:       "truncated after a line",
			opt:        enginetest.WithTruncatedStream(firstLine),
			wantCode:   1,
			wantStderr: fixed("unexpected EOF\n"),
			wantStdout: "Step 1/2 : FROM scratch",
		},
		{
			name:       "HTTP 400 JSON",
			opt:        enginetest.WithBuildResponse(400, "application/json", mustRecorded(t, "parse-error.json")),
			wantCode:   1,
			wantStderr: fixed("Error response from daemon: dockerfile parse error line 2: unknown instruction: BOGUS\n"),
		},
		{
			name:       "HTTP 500 JSON",
			opt:        enginetest.WithBuildError(500, "internal boom"),
			wantCode:   1,
			wantStderr: fixed("Error response from daemon: internal boom\n"),
		},
		{
			name:       "HTTP 404 plain text",
			opt:        enginetest.WithBuildResponse(404, "text/plain; charset=utf-8", []byte("404 page not found\n")),
			wantCode:   1,
			wantStderr: fixed("Error response from daemon: 404 page not found\n"),
		},
		{
			name:       "HTTP 502 plain text",
			opt:        enginetest.WithBuildResponse(502, "text/plain", []byte("bad gateway\n")),
			wantCode:   1,
			wantStderr: fixed("Error response from daemon: bad gateway\n"),
		},
		{
			name:     "HTTP 503 empty body",
			opt:      enginetest.WithBuildResponse(503, "text/plain", nil),
			wantCode: 1,
			wantStderr: func(host string) string {
				u := url.URL{Scheme: "http", Host: strings.TrimPrefix(host, "unix://"), Path: "/v1.41/build", RawQuery: "dockerfile=Dockerfile&version=1"}
				return "request returned 503 Service Unavailable for API route and version " + u.String() + ", check if the server supports the requested API version\n"
			},
		},
		{
			name:       "error without errorDetail",
			opt:        enginetest.WithStream([]byte(`{"stream":"Step 1/2 : FROM scratch\n"}` + "\r\n" + `{"error":"bare failure"}` + "\r\n")),
			wantCode:   1,
			wantStderr: fixed("bare failure\n"),
			wantStdout: "Step 1/2 : FROM scratch\n",
		},
		{
			name:       "errorDetail code 3",
			opt:        enginetest.WithRecordedStream("run-exit3.jsonl"),
			wantCode:   3,
			wantStderr: fixed("The command '/bin/sh -c echo out; echo err >&2; exit 3' returned a non-zero code: 3\n"),
			wantStdout: "out\n\x1b[91merr\n\x1b[0m",
		},
		{
			// 300 mod 256 = 44, as docker's process exits.
			name:       "errorDetail code 300",
			opt:        enginetest.WithStream([]byte(`{"errorDetail":{"code":300,"message":"big"},"error":"big"}` + "\r\n")),
			wantCode:   44,
			wantStderr: fixed("big\n"),
		},
		{
			// docker exits 0 here (256 mod 256); a failed build must not.
			name:       "errorDetail code 256",
			opt:        enginetest.WithStream([]byte(`{"errorDetail":{"code":256,"message":"wraps"},"error":"wraps"}` + "\r\n")),
			wantCode:   1,
			wantStderr: fixed("wraps\n"),
		},
		{
			name:       "errorDetail code 0",
			opt:        enginetest.WithStream([]byte(`{"errorDetail":{"message":"no code"},"error":"no code"}` + "\r\n")),
			wantCode:   1,
			wantStderr: fixed("no code\n"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := sock(t, enginetest.New(tc.opt))
			r := runInProcess(t, map[string]string{"DOCKER_HOST": host}, buildContext(t, 0))
			if want := tc.wantStderr(host); r.code != tc.wantCode || r.stderr != want {
				t.Errorf("got %s\nwant exit %d and stderr %q", r, tc.wantCode, want)
			}
			if !strings.Contains(r.stdout, tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, r)
			}
		})
	}
}

func mustRecorded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := enginetest.RecordedStream(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixed is a wanted stderr that does not depend on the daemon's address.
func fixed(s string) func(string) string { return func(string) string { return s } }
