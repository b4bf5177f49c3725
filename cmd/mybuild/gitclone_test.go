package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// TestSignalRemovesGitClone: a git context is cloned into a temporary
// directory; Ctrl-C while the daemon builds from it must still remove it
// (the clone's removal on failure and on a cancelled clone are tested in
// pkg/remotecontext).
func TestSignalRemovesGitClone(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		skipUnlessCI(t, "no git")
	}
	bin := mybuildBinary(t)
	url := serveGitRepo(t, map[string]string{"Dockerfile": "FROM scratch\n", "app/main.go": "package main\n"})

	d := enginetest.New(enginetest.WithStream(slowStream()), enginetest.WithLineDelay(500*time.Millisecond))
	tmp := t.TempDir()
	p := startMybuildEnv(t, bin, "unix://"+d.ListenUnix(t), t.TempDir(), []string{"TMPDIR=" + tmp}, url)
	waitUntil(t, p, "first step", func() bool { return strings.Contains(p.stdout(), "Step 1/120") })
	if clones, _ := filepath.Glob(filepath.Join(tmp, "docker-build-git*")); len(clones) != 1 {
		t.Fatalf("temporary clones during the build: %v, want one", clones)
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code, elapsed := p.wait(t, sent, signalExitLimit); code != 130 || elapsed > signalExitLimit {
		t.Errorf("exit %d after %s, want 130 within %s\n%s", code, elapsed, signalExitLimit, p)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR after Ctrl-C: %v", left)
	}
	b := d.Requests()
	if len(b) != 1 {
		t.Fatalf("the daemon got %d builds, want 1", len(b))
	}
	var names []string
	for _, e := range b[0].Entries {
		names = append(names, e.Name)
	}
	if !slices.Contains(names, "Dockerfile") || !slices.Contains(names, "app/main.go") {
		t.Errorf("entries sent: %v, want the clone's Dockerfile and app/main.go", names)
	}
}

// serveGitRepo commits files to a new repository and serves it with
// `git daemon` on loopback until the test ends; it returns its git:// URL.
func serveGitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	base := t.TempDir()
	repo := filepath.Join(base, "repo.git")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for name, content := range files {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "master") // docker's default ref
	git("add", ".")
	git("commit", "-q", "-m", "context")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--base-path="+base,
		"--listen=127.0.0.1", "--port="+strconv.Itoa(port), base)
	// git runs git-daemon as its child: the group is killed, not git alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		skipUnlessCI(t, "git daemon: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("git daemon does not listen on %s", addr)
		}
	}
	return "git://" + addr + "/repo.git"
}
