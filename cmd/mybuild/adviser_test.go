//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestListContextOnATerminal: on a terminal, --list-context shows the
// tree (largest first, an excluded subtree on one line with its rule, the
// warnings); piped, the plain listing of every entry.
func TestListContextOnATerminal(t *testing.T) {
	tmuxPath, err := exec.LookPath("tmux")
	if err != nil {
		skipUnlessCI(t, "tmux is not installed: this test runs mybuild in a tmux pane (apt-get install tmux)")
	}
	bin := mybuildBinary(t)
	dir := shortTempDir(t)
	for p, c := range map[string]string{
		"ctx/Dockerfile":          "FROM scratch\nCOPY src /src\n",
		"ctx/.dockerignore":       "node_modules\n",
		"ctx/src/main.go":         strings.Repeat("g", 3000),
		"ctx/node_modules/a/x.js": strings.Repeat("j", 5000),
		"ctx/.env":                "SECRET=1\n",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tm := &tmux{t: t, path: tmuxPath, sock: filepath.Join(dir, "tmux.sock"), env: []string{
		"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "HOME=" + dir, "TERM=xterm-256color", "LANG=C.UTF-8", "DOCKER_HOST=tcp://127.0.0.1:1",
	}}
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g status off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tm.run("-f", conf, "new-session", "-d", "-s", "pty", "-x", "120", "-y", "40", "-c", dir,
		"sh", "-c", `mybuild --list-context ctx; echo "`+exitMarker+`=$?"; mybuild --list-context ctx | grep -c '^Entries:$'; exec sleep 60`)
	t.Cleanup(tm.kill)
	done := regexp.MustCompile(`^` + exitMarker + `=0$`)
	screen := tm.waitScreen(15*time.Second, "mybuild to exit", func(lines []string) bool {
		return len(lines) > 1 && matchCount(lines[:len(lines)-1], done) == 1
	})
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`^ +SENT  NOT SENT$`),
		regexp.MustCompile(`^ +3\.\d+kB +5kB  \./$`),
		regexp.MustCompile(`^ +5kB  ├── node_modules/  \.dockerignore line 1: node_modules \(3 entries\)$`),
		regexp.MustCompile(`^ +3kB +├── src/$`),
		regexp.MustCompile(`^  ! 1 file that looks like a secret is sent: \.env; list it in \.dockerignore$`),
	} {
		if matchCount(screen, want) != 1 {
			t.Errorf("no line %s on the terminal; screen:\n%s", want, strings.Join(screen, "\n"))
		}
	}
	if last := screen[len(screen)-1]; last != "1" {
		t.Errorf("piped, --list-context printed %s lines 'Entries:', want 1 (the plain listing); screen:\n%s", last, strings.Join(screen, "\n"))
	}
}

// TestListContextManyFilesPeakRSS: the tree and the plain listing of a
// context of 100,000 files stream their walks: memory does not grow with
// the number of entries (json, which holds them all, is not held to it).
func TestListContextManyFilesPeakRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: creates 100,000 files")
	}
	const (
		dirs, perDir = 100, 1000
		// Above what mybuild holds doing nothing (the binary's pages and
		// the runtime): the listing that held every entry took 25 MB more;
		// a streaming one 5-7 MB, and up to 12 MB when the collector runs
		// late.
		growth = 16 << 20
	)
	bin := mybuildBinary(t)
	limit := idleRSS(t, bin) + growth
	ctxDir := fastTempDir(t)
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nCOPY d00* /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Half of it is left out, as a subtree and file by file.
	if err := os.WriteFile(filepath.Join(ctxDir, ".dockerignore"), []byte("d07*\n**/*-3*.txt\n*.log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for d := range dirs {
		dir := filepath.Join(ctxDir, fmt.Sprintf("d%03d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range perDir {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%05d.txt", f)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() { removeFlat(t, ctxDir) })
	for _, format := range []string{"tree", "plain"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "--list-context="+format, ctxDir)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		floor := resetPeakRSS(t)
		start := time.Now()
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("--list-context=%s: %v\n%s", format, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), `"*.log" matches nothing`) {
			t.Errorf("--list-context=%s: no warning for *.log; output ends:\n%s", format, tail(stdout.String(), 20))
		}
		rss := peakRSS(t, cmd, floor, limit)
		t.Logf("--list-context=%s: %d bytes of output in %v, peak RSS %.1f MB", format, stdout.Len(), time.Since(start).Round(time.Millisecond), float64(rss)/1e6)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// idleRSS is what mybuild holds doing nothing (the binary's pages and the
// runtime), which the limits of the memory tests come on top of: its peak
// RSS while it waits for a context on stdin that does not come. It is read
// from /proc, as a child's rusage would count this test process's memory.
func idleRSS(t *testing.T, bin string) int64 {
	t.Helper()
	cmd := exec.Command(bin, "-H", "unix:///nonexistent/docker.sock", "-")
	cmd.Env = []string{"HOME=" + t.TempDir(), "DOCKER_BUILDKIT=0"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var hwm int64
	for range 20 { // it reaches its wait within a few ms; take the highest
		time.Sleep(25 * time.Millisecond)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
				hwm = max(hwm, n<<10)
			}
		}
	}
	t.Logf("mybuild doing nothing: peak RSS %.1f MB", float64(hwm)/1e6)
	return hwm
}
