package main

// Row 6 of the fault matrix (issue #6): SIGINT and SIGTERM stop the mybuild
// binary within 2 s, with docker's exit codes and nothing printed, while the
// daemon streams and while the context is uploaded. The real binary runs as
// a subprocess against the in-process fake daemon.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// signalExitLimit is how long mybuild may take to exit after a signal.
const signalExitLimit = 2 * time.Second

// process is a running mybuild. Its output goes to files, which the test
// reads while it runs.
type process struct {
	cmd                    *exec.Cmd
	stdoutFile, stderrFile string
	done                   chan struct{} // closed when it has exited
	err                    error         // cmd.Wait's, once done is closed
}

func (p *process) stdout() string { b, _ := os.ReadFile(p.stdoutFile); return string(b) }
func (p *process) stderr() string { b, _ := os.ReadFile(p.stderrFile); return string(b) }

// startMybuild runs bin on the context dir against host.
func startMybuild(t *testing.T, bin, host, dir string, args ...string) *process {
	t.Helper()
	return startMybuildEnv(t, bin, host, dir, nil, append(args, ".")...)
}

// startMybuildEnv runs bin with args (the context included) in dir against
// host, with env added to a minimal environment.
func startMybuildEnv(t *testing.T, bin, host, dir string, env []string, args ...string) *process {
	t.Helper()
	out := t.TempDir()
	p := &process{done: make(chan struct{}), stdoutFile: filepath.Join(out, "stdout"), stderrFile: filepath.Join(out, "stderr")}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"DOCKER_CONFIG=" + t.TempDir(),
		"DOCKER_HOST=" + host,
		"DOCKER_BUILDKIT=0",
	}, env...)
	p.cmd.Stdout, p.cmd.Stderr = createFile(t, p.stdoutFile), createFile(t, p.stderrFile)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// createFile creates a file that stays open until the test ends.
func createFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// wait waits for the process to exit (failing the test after limit plus
// 10 s) and returns its exit status and how long it took from since.
func (p *process) wait(t *testing.T, since time.Time, limit time.Duration) (int, time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(time.Until(since.Add(limit + 10*time.Second))):
		t.Fatalf("mybuild still runs %s later\n%s", time.Since(since), p)
	}
	elapsed := time.Since(since)
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		t.Fatalf("waiting for mybuild: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode(), elapsed
}

func (p *process) String() string {
	return fmt.Sprintf("--- stdout\n%s\n--- stderr\n%s", p.stdout(), p.stderr())
}

// waitUntil polls cond every 10 ms for up to 30 s.
func waitUntil(t *testing.T, p *process, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("mybuild exited before %s: %v\n%s", what, p.err, p)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30 s\n%s", what, p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowStream is a build that prints a step every half second for a minute.
func slowStream() []byte {
	var b bytes.Buffer
	for i := 1; i <= 120; i++ {
		fmt.Fprintf(&b, `{"stream":"Step %d/120 : RUN sleep 1\n"}`+"\r\n", i)
	}
	return b.Bytes()
}

func TestSignals(t *testing.T) {
	t.Parallel()
	bin := mybuildBinary(t)
	small := t.TempDir()
	if err := os.WriteFile(filepath.Join(small, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A context far bigger than the connection's buffers: its upload is
	// still running when the daemon stops reading after 64 KiB.
	big := t.TempDir()
	if err := os.WriteFile(filepath.Join(big, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, "big"), make([]byte, 16<<20), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		sig      syscall.Signal
		wantCode int
		upload   bool
	}{
		{"SIGINT while the daemon streams", syscall.SIGINT, 130, false},
		{"SIGTERM while the daemon streams", syscall.SIGTERM, 143, false},
		{"SIGINT during the upload", syscall.SIGINT, 130, true},
		{"SIGTERM during the upload", syscall.SIGTERM, 143, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var d *enginetest.Daemon
			var p *process
			if tc.upload {
				d = enginetest.New(enginetest.WithBuildHang(64 << 10))
				p = startMybuild(t, bin, "unix://"+d.ListenUnix(t), big)
				waitUntil(t, p, "upload", func() bool {
					calls := d.Calls()
					return len(calls) > 0 && calls[len(calls)-1].Method == "POST"
				})
			} else {
				d = enginetest.New(enginetest.WithStream(slowStream()), enginetest.WithLineDelay(500*time.Millisecond))
				p = startMybuild(t, bin, "unix://"+d.ListenUnix(t), small)
				waitUntil(t, p, "first step", func() bool { return strings.Contains(p.stdout(), "Step 1/120") })
			}
			printed := p.stdout()
			sent := time.Now()
			if err := p.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			code, elapsed := p.wait(t, sent, signalExitLimit)
			t.Logf("exit %d %s after %s", code, tc.sig, elapsed.Round(time.Millisecond))
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%s", code, tc.wantCode, p)
			}
			if elapsed > signalExitLimit {
				t.Errorf("exited %s after %s, want within %s", elapsed, tc.sig, signalExitLimit)
			}
			if p.stderr() != "" {
				t.Errorf("stderr = %q, want nothing", p.stderr())
			}
			// Nothing but what the daemon streamed up to the signal (the
			// lines in flight may still arrive).
			if out := p.stdout(); !strings.HasPrefix(out, printed) || strings.Contains(out, "Successfully") || (tc.upload && out != "") {
				t.Errorf("stdout after the signal = %q (before it: %q)", out, printed)
			}
		})
	}

	// A credential helper that never answers (a keychain prompt nobody
	// sees): docker waits for it; mybuild kills it and exits.
	t.Run("SIGINT while a credential helper hangs", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "helper.pid")
		helper := "#!/bin/sh\necho $$ > " + pidFile + ".tmp && mv " + pidFile + ".tmp " + pidFile + "\nexec sleep 60\n"
		if err := os.WriteFile(filepath.Join(dir, "docker-credential-hang"), []byte(helper), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credHelpers":{"a.example.com":"hang"}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		d := enginetest.New()
		p := startMybuildEnv(t, bin, "unix://"+d.ListenUnix(t), small,
			[]string{"PATH=" + dir + ":" + os.Getenv("PATH"), "DOCKER_CONFIG=" + dir}, ".")
		waitUntil(t, p, "the credential helper", func() bool { _, err := os.Stat(pidFile); return err == nil })
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err != nil {
			t.Fatal(err)
		}
		sent := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		code, elapsed := p.wait(t, sent, signalExitLimit)
		t.Logf("exit %d after %s", code, elapsed.Round(time.Millisecond))
		if code != 130 || elapsed > signalExitLimit || p.stderr() != "" || p.stdout() != "" {
			t.Errorf("exit %d after %s, want 130 within %s and no output\n%s", code, elapsed, signalExitLimit, p)
		}
		for _, c := range d.Calls() {
			if c.Method == "POST" {
				t.Errorf("the build was sent: %s %s", c.Method, c.Path)
			}
		}
		// Killed, not left behind: gone, or a zombie of nobody's.
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("the credential helper (pid %d) still runs: %s", pid, b)
		}
	})

	// errorDetail.code: the process exits with the code mod 256, as docker.
	t.Run("errorDetail code 300 exits 44", func(t *testing.T) {
		t.Parallel()
		d := enginetest.New(enginetest.WithStream([]byte(`{"errorDetail":{"code":300,"message":"big"},"error":"big"}` + "\r\n")))
		p := startMybuild(t, bin, "unix://"+d.ListenUnix(t), small)
		if code, _ := p.wait(t, time.Now(), 30*time.Second); code != 44 || p.stderr() != "big\n" {
			t.Errorf("exit %d, want 44 and stderr %q\n%s", code, "big\n", p)
		}
	})
}
