//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// credentialsConfig is a config.json with one registry password.
const credentialsConfig = `{"auths":{"registry.example":{"auth":"dXNlcjpzZWNyZXQ="}}}`

// TestCredentialsWarningOverPlainTCP runs mybuild against a daemon on
// another host, as far as the network stack can tell: a fake daemon
// listening in a network namespace made by the test, reached over a veth
// pair. With credentials in config.json and no TLS, mybuild must warn once;
// MYBUILD_NO_CREDENTIALS_WARNING silences it, and a loopback daemon or no
// credentials give no warning.
func TestCredentialsWarningOverPlainTCP(t *testing.T) {
	bin := mybuildBinary(t)
	remote := netnsDaemon(t)
	local := enginetest.New()
	loopback := local.ListenTCP(t)

	withCreds, noCreds := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(withCreds, "config.json"), []byte(credentialsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	warning := func(host string) string {
		return "WARNING: your registry credentials are sent to " + host + " without TLS; anyone on the network path can read them. " +
			"Use --tlsverify, or set MYBUILD_NO_CREDENTIALS_WARNING=1 to silence this warning.\n"
	}
	cases := []struct {
		name     string
		daemon   *enginetest.Daemon
		host     string
		config   string
		env      []string
		warnings int
	}{
		{name: "remote host with credentials", daemon: remote.d, host: "tcp://" + remote.addr, config: withCreds, warnings: 1},
		{name: "silenced", daemon: remote.d, host: "tcp://" + remote.addr, config: withCreds, env: []string{"MYBUILD_NO_CREDENTIALS_WARNING=1"}},
		{name: "remote host without credentials", daemon: remote.d, host: "tcp://" + remote.addr, config: noCreds},
		{name: "loopback", daemon: local, host: "tcp://" + loopback, config: withCreds},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.daemon.Requests())
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-H", tc.host, ctxDir)
			cmd.Env = append([]string{"HOME=" + t.TempDir(), "DOCKER_CONFIG=" + tc.config, "PATH=/usr/bin:/bin"}, tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("mybuild: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			tc.daemon.Wait()
			reqs := tc.daemon.Requests()
			if len(reqs) != before+1 {
				t.Fatalf("the daemon at %s received %d builds, want 1", tc.host, len(reqs)-before)
			}
			// The credentials did travel (or there were none to send).
			reg, err := base64.URLEncoding.DecodeString(reqs[len(reqs)-1].Header.Get("X-Registry-Config"))
			if sent := strings.Contains(string(reg), `"registry.example"`); err != nil || sent != (tc.config == withCreds) {
				t.Errorf("X-Registry-Config = %q (%v), want credentials in it: %v", reg, err, tc.config == withCreds)
			}
			got := strings.Count(stderr.String(), "WARNING: your registry credentials")
			if got != tc.warnings {
				t.Errorf("%d credentials warnings on stderr, want %d:\n%s", got, tc.warnings, stderr.String())
			}
			if tc.warnings > 0 && !strings.Contains(stderr.String(), warning(tc.host)) {
				t.Errorf("stderr lacks the warning %q:\n%s", warning(tc.host), stderr.String())
			}
		})
	}
}

type remoteDaemon struct {
	d    *enginetest.Daemon
	addr string
}

// netnsDaemon makes a network namespace joined to this one by a veth pair
// (10.213.N.1/30 here, 10.213.N.2 there) and serves a fake daemon on
// 10.213.N.2:2375 inside it, until the test ends. The listening socket is
// made by a thread that entered the namespace; that thread is discarded
// afterwards.
func netnsDaemon(t *testing.T) remoteDaemon {
	t.Helper()
	if os.Geteuid() != 0 {
		skipUnlessCI(t, "making a network namespace needs root")
	}
	ipTool, err := exec.LookPath("ip")
	if err != nil {
		skipUnlessCI(t, "no ip command (iproute2) to make a network namespace")
	}
	id := os.Getpid() % 100000
	ns := fmt.Sprintf("mybuild-test-%d", id)
	hostIf, nsIf := fmt.Sprintf("mbh%d", id), fmt.Sprintf("mbn%d", id)
	subnet := fmt.Sprintf("10.213.%d", id%256)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipTool, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.Command(ipTool, "netns", "add", ns).CombinedOutput(); err != nil {
		skipUnlessCI(t, "cannot make a network namespace (ip netns add: %v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		// Deleting one end of the pair deletes the other; the namespace
		// goes last. Both are attempted whatever failed before.
		_ = exec.Command(ipTool, "link", "del", hostIf).Run()
		if out, err := exec.Command(ipTool, "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	ip("link", "set", nsIf, "netns", ns)
	ip("addr", "add", subnet+".1/30", "dev", hostIf)
	ip("link", "set", hostIf, "up")
	ip("-n", ns, "addr", "add", subnet+".2/30", "dev", nsIf)
	ip("-n", ns, "link", "set", nsIf, "up")
	ip("-n", ns, "link", "set", "lo", "up")

	addr := subnet + ".2:2375"
	ln, err := listenInNetns(filepath.Join("/run/netns", ns), addr)
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	d := enginetest.New()
	stop := d.Serve(ln)
	t.Cleanup(stop)
	// Reachable from here across the veth before any client runs.
	if c, err := net.DialTimeout("tcp", addr, 10*time.Second); err != nil {
		t.Fatalf("the daemon in %s does not answer on %s: %v", ns, addr, err)
	} else {
		c.Close()
	}
	return remoteDaemon{d: d, addr: addr}
}

func listenInNetns(nsPath, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Not unlocked: the thread ends with this goroutine instead of
		// going back to the scheduler inside the other namespace.
		runtime.LockOSThread()
		f, err := os.Open(nsPath)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		ch <- result{ln, err}
	}()
	r := <-ch
	return r.ln, r.err
}
