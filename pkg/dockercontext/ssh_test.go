package dockercontext

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSSHCommand(t *testing.T) {
	t.Parallel()
	tail := []string{"docker", "system", "dial-stdio"}
	head := []string{"ssh", "-o ConnectTimeout=30", "-T"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		host    string
		want    []string
		wantErr string
	}{
		{host: "ssh://example.com", want: cat(head, []string{"--", "example.com"}, tail)},
		{host: "ssh://me@example.com", want: cat(head, []string{"-l", "me", "--", "example.com"}, tail)},
		{host: "ssh://example.com:2222", want: cat(head, []string{"-p", "2222", "--", "example.com"}, tail)},
		{host: "ssh://me@example.com:2222/run/user/1000/docker.sock", want: cat(head, []string{"-l", "me", "-p", "2222", "--", "example.com", "docker", "--host", "unix:///run/user/1000/docker.sock", "system", "dial-stdio"})},
		{host: "ssh://[::1]:22", want: cat(head, []string{"-p", "22", "--", "::1"}, tail)},
		{host: "ssh://-oProxyCommand=x", want: cat(head, []string{"--", "-oProxyCommand=x"}, tail)},
		{host: "ssh://me@example.com/", want: cat(head, []string{"-l", "me", "--", "example.com", "docker", "--host", "unix:///", "system", "dial-stdio"})},
		{host: "ssh://me:secret@example.com", wantErr: "ssh host connection is not valid: invalid SSH URL: plain-text password is not supported"},
		{host: "ssh://me:@example.com", wantErr: "ssh host connection is not valid: invalid SSH URL: plain-text password is not supported"},
		{host: "ssh://example.com?x=1", wantErr: `ssh host connection is not valid: invalid SSH URL: query parameters are not allowed: "x=1"`},
		{host: "ssh://example.com#frag", wantErr: `ssh host connection is not valid: invalid SSH URL: fragments are not allowed: "frag"`},
		{host: "ssh://", wantErr: "ssh host connection is not valid: invalid SSH URL: hostname is empty"},
		{host: "ssh://me@:22", wantErr: "ssh host connection is not valid: invalid SSH URL: hostname is empty"},
		{host: "ssh://a b", wantErr: `parse "ssh://a b": invalid character " " in host name`},
		{host: "tcp://example.com:2375", wantErr: "ssh host connection is not valid: invalid SSH URL: incorrect scheme: tcp"},
		{host: "example.com", wantErr: "ssh host connection is not valid: invalid SSH URL: no scheme provided"},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			t.Parallel()
			got, err := SSHCommand(tc.host)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("SSHCommand(%q) error = %v, want %q", tc.host, err, tc.wantErr)
				}
				if _, err := SSHDialer(context.Background(), tc.host); err == nil || err.Error() != tc.wantErr {
					t.Fatalf("SSHDialer(%q) error = %v, want %q", tc.host, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SSHCommand(%q) error = %v", tc.host, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SSHCommand(%q) mismatch (-want +got):\n%s", tc.host, diff)
			}
		})
	}
}

// TestSSHURLErrorsMatchDocker: docker prints the URL errors after
// "Failed to initialize: " only.
func TestSSHURLErrorsMatchDocker(t *testing.T) {
	needDocker(t)
	t.Parallel()
	for _, host := range []string{
		"ssh://me:secret@example.com",
		"ssh://example.com?x=1",
		"ssh://example.com#frag",
		"ssh://",
		"ssh://a b",
	} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			_, err := SSHDialer(context.Background(), host)
			if err == nil {
				t.Fatal("SSHDialer() succeeded, want an error")
			}
			cfg := filepath.Join(t.TempDir(), "cfg")
			stderr := dockerBuildStderr(t, dockerEnv(cfg, "DOCKER_HOST="+host))
			if want := InitPrefix + err.Error(); !hasLine(stderr, want) {
				t.Errorf("docker stderr lacks the line %q:\n%s", want, stderr)
			}
		})
	}
}

// fakeSSH writes an executable "ssh" script into a new directory and
// returns that directory.
func fakeSSH(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSSHDialerFailureMatchesDocker runs the same failing fake ssh under
// docker and under SSHDialer: the command line and the error text (with
// the captured stderr) must be docker's.
func TestSSHDialerFailureMatchesDocker(t *testing.T) {
	bin := fakeSSH(t, `for a in "$@"; do printf '[%s]' "$a" >&2; done
echo >&2
echo "ssh: connect to host example.com port 2222: Connection refused" >&2
# Stay alive while the client writes its request into the pipe, so that
# docker (like us) sees the exit on read, not a broken pipe on write.
sleep 1
exit 255
`)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	const host = "ssh://me@example.com:2222/run/d.sock"

	dial, err := SSHDialer(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, readErr := io.ReadAll(conn)
	want := "command [ssh -o ConnectTimeout=30 -T -l me -p 2222 -- example.com docker --host unix:///run/d.sock system dial-stdio] has exited with exit status 255, " +
		"make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: " +
		"stderr=[-o ConnectTimeout=30][-T][-l][me][-p][2222][--][example.com][docker][--host][unix:///run/d.sock][system][dial-stdio]\n" +
		"ssh: connect to host example.com port 2222: Connection refused\n"
	if readErr == nil || readErr.Error() != want {
		t.Fatalf("Read error = %v\nwant %s", readErr, want)
	}

	if _, err := os.Stat(dockerBin); err != nil {
		t.Logf("skipping the docker comparison: %v", err)
		return
	}
	cfg := filepath.Join(t.TempDir(), "cfg")
	stderr := dockerBuildStderr(t, dockerEnv(cfg, "DOCKER_HOST="+host))
	if !strings.Contains(stderr, `error during connect: Post "`+SSHHTTPHost+`/v1.50/build?`) || !strings.Contains(stderr, readErr.Error()) {
		t.Errorf("docker stderr does not carry the same error %q:\n%s", readErr, stderr)
	}
}

// TestSSHDialerHTTP speaks HTTP to an httptest server on a unix socket
// through a fake ssh that execs socat.
func TestSSHDialerHTTP(t *testing.T) {
	socat, err := exec.LookPath("socat")
	if err != nil {
		t.Skipf("socat not installed: %v", err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ method, path, host, body string }
	reqs := make(chan seen, 10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reqs <- seen{r.Method, r.URL.Path, r.Host, string(body)}
		w.Header().Set("Api-Version", "1.50")
		io.WriteString(w, "OK")
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	argsFile := filepath.Join(dir, "args")
	pidFile := filepath.Join(dir, "pid")
	bin := fakeSSH(t, `echo $$ > '`+pidFile+`'
printf '%s\n' "$@" > '`+argsFile+`'
exec '`+socat+`' - UNIX-CONNECT:'`+sock+`'
`)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	host := "ssh://me@example.com:2222" + sock
	dial, err := SSHDialer(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}
	client := &http.Client{Transport: transport, Timeout: 20 * time.Second}

	resp, err := client.Get(SSHHTTPHost + "/_ping")
	if err != nil {
		t.Fatalf("GET /_ping: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "OK" || resp.Header.Get("Api-Version") != "1.50" {
		t.Errorf("GET /_ping = %q (Api-Version %q), want OK (1.50)", body, resp.Header.Get("Api-Version"))
	}
	// A second request reuses the same ssh process.
	resp, err = client.Post(SSHHTTPHost+"/v1.50/build", "application/x-tar", strings.NewReader("tar bytes"))
	if err != nil {
		t.Fatalf("POST /build: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	wantSeen := []seen{
		{"GET", "/_ping", "docker.example.com", ""},
		{"POST", "/v1.50/build", "docker.example.com", "tar bytes"},
	}
	for i, w := range wantSeen {
		if got := <-reqs; got != w {
			t.Errorf("request %d = %+v, want %+v", i, got, w)
		}
	}

	argv, err := SSHCommand(host)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.Join(argv[1:], "\n")+"\n", string(data)); diff != "" {
		t.Errorf("ssh arguments mismatch (-want +got):\n%s", diff)
	}

	// Closing the idle connection ends the ssh process.
	pidData, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidData)))
	if err != nil {
		t.Fatal(err)
	}
	transport.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("ssh process %d still running after CloseIdleConnections", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCommandConn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("echo", func(t *testing.T) {
		t.Parallel()
		c, err := NewCommandConn(ctx, "/bin/sh", "-c", "exec cat")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "hello"); err != nil {
			t.Fatal(err)
		}
		if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "hello" {
			t.Errorf("ReadAll = %q, %v; want hello, nil", got, err)
		}
		if c.LocalAddr().String() != "dummy-0" || c.RemoteAddr().String() != "dummy-1" || c.RemoteAddr().Network() != "dummy" {
			t.Errorf("addresses = %v/%v", c.LocalAddr(), c.RemoteAddr())
		}
		if err := c.SetDeadline(time.Now()); err != nil {
			t.Errorf("SetDeadline: %v", err)
		}
	})

	t.Run("exit status and stderr", func(t *testing.T) {
		t.Parallel()
		c, err := NewCommandConn(ctx, "/bin/sh", "-c", "echo out; echo oops >&2; exit 3")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := io.ReadAll(c)
		want := "command [/bin/sh -c echo out; echo oops >&2; exit 3] has exited with exit status 3, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=oops\n"
		if string(got) != "out\n" || err == nil || err.Error() != want {
			t.Errorf("ReadAll = %q, %v\nwant %q, %s", got, err, "out\n", want)
		}
	})

	t.Run("stderr keeps the tail", func(t *testing.T) {
		t.Parallel()
		c, err := NewCommandConn(ctx, "/bin/sh", "-c", `i=0; while [ $i -lt 1000 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = io.ReadAll(c)
		if err == nil || !strings.HasSuffix(err.Error(), "line 999\n") || strings.Contains(err.Error(), "stderr=line 0\n") {
			t.Errorf("error = %v, want the stderr tail only", err)
		}
	})

	t.Run("Close terminates", func(t *testing.T) {
		t.Parallel()
		c, err := NewCommandConn(ctx, "/bin/sh", "-c", "exec sleep 100")
		if err != nil {
			t.Fatal(err)
		}
		readErr := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 10))
			readErr <- err
		}()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %v, want SIGTERM to end it at once", d)
		}
		select {
		case err := <-readErr:
			if err == nil {
				t.Error("blocked Read returned no error after Close")
			}
		case <-time.After(5 * time.Second):
			t.Error("Read still blocked after Close")
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})

	t.Run("Close kills after the grace period", func(t *testing.T) {
		t.Parallel()
		c, err := NewCommandConn(ctx, "/bin/sh", "-c", `trap "" TERM; echo ready; exec sleep 100`)
		if err != nil {
			t.Fatal(err)
		}
		// Only once SIGTERM is ignored (a fixed sleep here was sometimes
		// too short on a loaded machine: SIGTERM came first).
		ready := make([]byte, len("ready\n"))
		if _, err := io.ReadFull(c, ready); err != nil || string(ready) != "ready\n" {
			t.Fatalf("read %q, %v; want ready", ready, err)
		}
		start := time.Now()
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if d := time.Since(start); d < commandKillGrace-100*time.Millisecond || d > commandKillGrace+3*time.Second {
			t.Errorf("Close took %v, want about %v", d, commandKillGrace)
		}
	})

	t.Run("missing command", func(t *testing.T) {
		t.Parallel()
		_, err := NewCommandConn(ctx, "/nonexistent/ssh")
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error = %v, want not exist", err)
		}
	})
}
