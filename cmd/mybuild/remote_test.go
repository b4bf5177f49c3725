//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRemoteDaemon talks to a fake daemon on another host as far as the
// network stack can tell (a network namespace over a veth pair, see
// netnsDaemon): the context is compressed by default there, and
// HTTP_PROXY/NO_PROXY apply to the daemon connection as they do for docker
// (Go never proxies loopback, so this needs a non-loopback daemon).
func TestRemoteDaemon(t *testing.T) {
	bin := mybuildBinary(t)
	remote := netnsDaemon(t)
	host := "tcp://" + remote.addr
	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "data"), bytes.Repeat([]byte("compressible "), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	proxy := newForwardProxy(t)

	// run runs a client and returns whether the build body was gzip.
	run := func(t *testing.T, client string, env []string, args ...string) (gzip bool) {
		t.Helper()
		before := len(remote.d.Requests())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var cmd *exec.Cmd
		if client == "docker" {
			cmd = exec.CommandContext(ctx, dockerCLI(t), append([]string{"-H", host, "build"}, append(args, ctxDir)...)...)
		} else {
			cmd = exec.CommandContext(ctx, bin, append([]string{"-H", host}, append(args, ctxDir)...)...)
		}
		cmd.Env = append([]string{"HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir(), "PATH=/usr/bin:/bin", "DOCKER_BUILDKIT=0"}, env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", client, err, out.String())
		}
		remote.d.Wait()
		reqs := remote.d.Requests()
		if len(reqs) != before+1 {
			t.Fatalf("%s: the daemon received %d builds, want 1", client, len(reqs)-before)
		}
		return reqs[len(reqs)-1].Gzip
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want bool
	}{
		{name: "compressed by default", want: true},
		{name: "--compress=false", args: []string{"--compress=false"}},
		{name: "MYBUILD_COMPRESS=0", env: []string{"MYBUILD_COMPRESS=0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(t, "mybuild", tc.env, tc.args...); got != tc.want {
				t.Errorf("gzip body = %v, want %v", got, tc.want)
			}
		})
	}

	for _, client := range []string{"docker", "mybuild"} {
		t.Run("HTTP_PROXY with "+client, func(t *testing.T) {
			proxy.reset()
			run(t, client, []string{"HTTP_PROXY=" + proxy.url})
			if got := proxy.seen(); !strings.Contains(got, "POST http://"+remote.addr+"/v") {
				t.Errorf("the proxy saw %q, want the build request", got)
			}
			proxy.reset()
			run(t, client, []string{"HTTP_PROXY=" + proxy.url, "NO_PROXY=10.213.0.0/16"})
			if got := proxy.seen(); got != "" {
				t.Errorf("with NO_PROXY the proxy still saw %q", got)
			}
		})
	}
}

func dockerCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/local/bin/docker", "/usr/bin/docker"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	skipUnlessCI(t, "no docker CLI to compare with")
	return ""
}

// forwardProxy is a plain HTTP forward proxy on loopback that logs the
// request lines it forwards.
type forwardProxy struct {
	url string
	mu  sync.Mutex
	log []string
}

func newForwardProxy(t *testing.T) *forwardProxy {
	p := &forwardProxy{}
	tr := &http.Transport{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.log = append(p.log, r.Method+" "+r.URL.String())
		p.mu.Unlock()
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := tr.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(func() { srv.Close(); tr.CloseIdleConnections() })
	p.url = srv.URL
	return p
}

func (p *forwardProxy) reset() {
	p.mu.Lock()
	p.log = nil
	p.mu.Unlock()
}

func (p *forwardProxy) seen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}
