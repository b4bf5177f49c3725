package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// The layers of testdata/streams/pull-3-layers.jsonl, a pull recorded from a
// real daemon (see testdata/streams/README.md).
var pullLayers = []string{"1b265ab7f482", "c0e2bb0179de", "c5ce3c84d928"}

// pullHoldLines is how many lines of the recorded stream the daemon sends
// before it holds the stream: after line 36, layer 1b265ab7f482 is
// complete, c5ce3c84d928 is downloaded and c0e2bb0179de is downloading
// (7.045MB of 14.68MB).
const pullHoldLines = 36

// TestTTYPullProgress runs the built binary in a real terminal (a tmux pane
// 80, 100 and 120 columns wide: docker draws its bars only above 110,
// mybuild shrinks them to fit; 16 rows, so that the end of the build
// scrolls) against a fake daemon that replays a recorded pull slowly. With
// the default --progress=auto, mid-pull the screen must show a live bar for
// the downloading layer with each layer on one line of its own, none
// wrapped; at the end each layer must appear exactly once, as
// "<id>: Pull complete", with the build's step lines and "Successfully
// built".
//
// The daemon holds the stream in the middle of the pull until the test has
// seen the bar, so the mid-pull check does not depend on how fast a loaded
// machine polls.
func TestTTYPullProgress(t *testing.T) {
	tmuxPath, err := exec.LookPath("tmux")
	if err != nil {
		skipUnlessCI(t, "tmux is not installed: this test runs mybuild in a tmux pane (apt-get install tmux)")
	}
	start := time.Now()
	bin := mybuildBinary(t)
	t.Logf("go build: %v", time.Since(start).Round(time.Millisecond))
	for _, width := range []int{80, 100, 120} {
		t.Run(fmt.Sprintf("%d columns", width), func(t *testing.T) { testTTYPull(t, tmuxPath, bin, width) })
	}
}

func testTTYPull(t *testing.T, tmuxPath, bin string, width int) {
	hold := newHoldHandler(enginetest.New(
		enginetest.WithStreamFile(filepath.Join("testdata", "streams", "pull-3-layers.jsonl")),
		enginetest.WithLineDelay(25*time.Millisecond),
	), pullHoldLines)
	if err := hold.d.Err(); err != nil {
		t.Fatal(err)
	}
	dir := shortTempDir(t)
	sock := serveUnix(t, hold, filepath.Join(dir, "d.sock"))

	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM 127.0.0.1:5055/team/app-base:1.4\nWORKDIR /app\nLABEL org.example.pty=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tm := startPane(t, tmuxPath, dir, width, 16, sock, bin, "-t", "mybuild-test/pty:rec", ctxDir)

	// Mid-pull: wait for the daemon to reach the hold point, then for the
	// screen to show what it has sent so far.
	select {
	case <-hold.reached:
	case <-time.After(15 * time.Second):
		t.Fatalf("the daemon did not send %d lines of the stream within 15s; screen:\n%s", pullHoldLines, strings.Join(tm.capture(false), "\n"))
	}
	bar := regexp.MustCompile(`^c0e2bb0179de: Downloading +\[=+> +\] +7\.045MB/14\.68MB$`)
	screen := tm.waitScreen(10*time.Second, "a live bar for layer c0e2bb0179de", func(lines []string) bool {
		return matchCount(lines, bar) == 1
	})
	for _, id := range pullLayers {
		if n := prefixCount(screen, id+": "); n != 1 {
			t.Errorf("mid-pull: layer %s is on %d lines, want 1 (redrawn in place); screen:\n%s", id, n, strings.Join(screen, "\n"))
		}
	}
	for _, l := range screen {
		if strings.HasPrefix(l, "c0e2bb0179de: ") && len(l) > width-1 {
			t.Errorf("mid-pull: the bar's line has %d columns, want at most %d: %q", len(l), width-1, l)
		}
	}
	if prefixCount(screen, "1b265ab7f482: Pull complete") != 1 || prefixCount(screen, "c5ce3c84d928: Download complete") != 1 {
		t.Errorf("mid-pull: want 1b265ab7f482 complete and c5ce3c84d928 downloaded; screen:\n%s", strings.Join(screen, "\n"))
	}
	if containsLine(screen, "Successfully built") {
		t.Errorf("mid-pull: the build already looks finished; screen:\n%s", strings.Join(screen, "\n"))
	}
	t.Logf("mid-pull screen:\n%s", strings.Join(screen, "\n"))
	hold.release()

	if status := tm.waitExit(15 * time.Second); status != "0" {
		t.Errorf("mybuild exited with status %s, want 0", status)
	}
	final := tm.capture(true)
	text := strings.Join(final, "\n")
	for _, id := range pullLayers {
		if n := prefixCount(final, id+": "); n != 1 {
			t.Errorf("end: layer %s is on %d lines, want 1", id, n)
		}
		if prefixCount(final, id+": Pull complete") != 1 {
			t.Errorf("end: no line %q", id+": Pull complete")
		}
	}
	if n := matchCount(final, regexp.MustCompile(`\[=*>`)); n != 0 {
		t.Errorf("end: %d lines still show a progress bar", n)
	}
	for _, want := range []string{
		"Sending build context to Docker daemon",
		"Step 1/3 : FROM 127.0.0.1:5055/team/app-base:1.4",
		"1.4: Pulling from team/app-base",
		"Digest: sha256:4b18ffde50a756a72c719be5f7328f8be1391208791829079618697089e071ef",
		"Status: Downloaded newer image for 127.0.0.1:5055/team/app-base:1.4",
		"Step 2/3 : WORKDIR /app",
		"Step 3/3 : LABEL org.example.pty=1",
		"Successfully built 95ccfe80fd18",
		"Successfully tagged mybuild-test/pty:rec",
		"Time per step:",
		"Built in ",
	} {
		if n := prefixCount(final, want); n != 1 {
			t.Errorf("end: %d lines start with %q, want 1", n, want)
		}
	}
	// The stream's 25 ms between lines: the pull takes step 1 a second.
	for _, re := range []string{
		`^  1/3  +[1-9][0-9]*\.[0-9]s  FROM 127\.0\.0\.1:5055/team/app-base:1\.4$`,
		`^  2/3  +[0-9]+\.[0-9]s  WORKDIR /app$`,
		`^  3/3  +[0-9]+\.[0-9]s  LABEL org\.example\.pty=1$`,
		`^Built in [1-9][0-9]*\.[0-9]s$`,
	} {
		if n := matchCount(final, regexp.MustCompile(re)); n != 1 {
			t.Errorf("end: %d lines match %s, want 1", n, re)
		}
	}
	t.Logf("final screen and scrollback:\n%s", text)
}

// exitMarker starts the line that the pane's shell prints after mybuild
// has exited, followed by "=" and the exit status.
const exitMarker = "mybuild-exited"

// startPane starts a tmux server of the test's own (its socket and
// configuration in dir) with one pane, width by height, in which a shell
// runs the mybuild binary bin with args against the daemon at the unix
// socket sock, as in a user's terminal, and then prints its exit status.
func startPane(t *testing.T, tmuxPath, dir string, width, height int, sock, bin string, args ...string) *tmux {
	t.Helper()
	home := t.TempDir()
	tm := &tmux{t: t, path: tmuxPath, sock: filepath.Join(dir, "tmux.sock"), env: []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"TERM=xterm-256color",
	}}
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g status off\nset -g history-limit 5000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tm.run("-f", conf, "new-session", "-d", "-s", "pty", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height),
		"-e", "DOCKER_HOST=unix://"+sock,
		"-e", "DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		// tmux's own pane_dead_status can stay unset (the SIGCHLD may
		// reach libutempter's handler instead, tmux#311): the shell says.
		"sh", "-c", shellQuote(append([]string{bin}, args...)...)+`; echo "`+exitMarker+`=$?"; exec sleep 60`)
	t.Cleanup(tm.kill)
	return tm
}

// waitExit waits for the pane's shell to print mybuild's exit status and
// returns it.
func (tm *tmux) waitExit(timeout time.Duration) string {
	tm.t.Helper()
	exitLine := regexp.MustCompile(`^` + exitMarker + `=([0-9]+)$`)
	var status string
	tm.waitScreen(timeout, "mybuild to exit", func(lines []string) bool {
		if n := len(lines); n > 0 {
			if m := exitLine.FindStringSubmatch(lines[n-1]); m != nil {
				status = m[1]
				return true
			}
		}
		return false
	})
	return status
}

// shellQuote quotes args for sh.
func shellQuote(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// shortTempDir is a temporary directory with a short path: unix socket
// names (the daemon's and tmux's) are limited to about 100 bytes.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mbpty")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// serveUnix serves h on a unix socket at path until the test ends.
func serveUnix(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return path
}

// gate is a point where the fake daemon waits for the test: reached is
// closed when it gets there, release lets it go on.
type gate struct {
	reached   chan struct{}
	reachOnce sync.Once
	released  chan struct{}
	relOnce   sync.Once
}

func newGate() *gate { return &gate{reached: make(chan struct{}), released: make(chan struct{})} }

func (g *gate) release() { g.relOnce.Do(func() { close(g.released) }) }

// wait marks the gate reached and blocks until release is called, ctx
// ends, or 30 s pass.
func (g *gate) wait(ctx context.Context) error {
	g.reachOnce.Do(func() { close(g.reached) })
	select {
	case <-g.released:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return errors.New("hold: not released within 30s")
	}
}

// holdHandler serves the fake daemon, holding the /build response after n
// lines at its gate.
type holdHandler struct {
	*gate
	d *enginetest.Daemon
	n int
}

func newHoldHandler(d *enginetest.Daemon, n int) *holdHandler {
	return &holdHandler{gate: newGate(), d: d, n: n}
}

func (h *holdHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/build") {
		h.d.ServeHTTP(w, r)
		return
	}
	h.d.ServeHTTP(&holdWriter{ResponseWriter: w, h: h, ctx: r.Context()}, r)
}

// holdWriter counts the lines written through it and blocks the write that
// would go past the hold point.
type holdWriter struct {
	http.ResponseWriter
	h     *holdHandler
	ctx   context.Context
	lines int
}

func (w *holdWriter) Write(b []byte) (int, error) {
	if w.lines >= w.h.n {
		if err := w.h.wait(w.ctx); err != nil {
			return 0, err
		}
	}
	n, err := w.ResponseWriter.Write(b)
	w.lines += bytes.Count(b[:n], []byte("\n"))
	return n, err
}

// Unwrap lets http.ResponseController flush the underlying writer.
func (w *holdWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// tmux drives a tmux server of the test's own, on its own socket.
type tmux struct {
	t    *testing.T
	path string
	sock string
	env  []string
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	cmd := exec.Command(tm.path, append([]string{"-S", tm.sock}, args...)...)
	cmd.Env = tm.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// kill stops the test's tmux server and the processes in its pane.
func (tm *tmux) kill() {
	cmd := exec.Command(tm.path, "-S", tm.sock, "kill-server")
	cmd.Env = tm.env
	_ = cmd.Run()
}

// capture returns the pane's lines, wrapped lines joined, without trailing
// blanks; with history, the scrollback above the visible screen too.
func (tm *tmux) capture(history bool) []string {
	tm.t.Helper()
	args := []string{"capture-pane", "-p", "-J", "-t", "pty"}
	if history {
		args = append(args, "-S", "-")
	}
	lines := strings.Split(strings.TrimRight(tm.run(args...), "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	// With remain-on-exit, tmux writes a last line of its own into a dead pane.
	if n := len(lines); n > 0 && strings.HasPrefix(lines[n-1], "Pane is dead") {
		lines = lines[:n-1]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// waitScreen polls the visible screen every 50 ms until ok accepts it,
// and fails the test with the last screen after timeout.
func (tm *tmux) waitScreen(timeout time.Duration, what string, ok func([]string) bool) []string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines := tm.capture(false)
		if ok(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("waited %v for %s; screen:\n%s", timeout, what, strings.Join(lines, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func prefixCount(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func matchCount(lines []string, re *regexp.Regexp) int {
	n := 0
	for _, l := range lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
