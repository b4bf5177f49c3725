package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

// Engine 29 (scripts/test-engine29.sh): BuildKit built in, Builder-Version 2.
const defaultSock29 = "/run/mybuild-engine29/docker.sock"

// needEngine29 returns Engine 29's -H value; without it the test fails
// under MYBUILD_E2E=1 and skips otherwise.
func needEngine29(t *testing.T) string {
	t.Helper()
	needDaemon(t)
	sock := envOr("MYBUILD_E2E_SOCK29", defaultSock29)
	if err := pingDaemon(sock); err != nil {
		msg := "Engine 29 does not answer on " + sock + " (" + err.Error() + "); run scripts/test-engine29.sh"
		if os.Getenv("MYBUILD_E2E") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Other suites prune Engine 29's build cache: not while this test runs.
	release, err := testbed.Lock("engine29")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return "unix://" + sock
}

// buildkitEnv leaves DOCKER_BUILDKIT unset: the daemon's Builder-Version
// chooses BuildKit, as for a user who never heard of the variable.
var buildkitEnv = []string{"DOCKER_BUILDKIT="}

// mybuild29 runs mybuild against Engine 29 with DOCKER_BUILDKIT unset.
func mybuild29(t *testing.T, h, dir string, args ...string) result {
	t.Helper()
	r := run(t, cmdSpec{Bin: mybuildBin, Args: append([]string{"-H", h}, args...), Dir: dir, Env: buildkitEnv})
	registerOutput(t, r)
	return r
}

// TestBuildKitCacheMountAndSecret is the "done when": a Dockerfile
// with RUN --mount=type=cache and a secret builds on Engine 29 with
// DOCKER_BUILDKIT unset, with buildx's progress on stderr, and the image
// is in the daemon with the step's result.
func TestBuildKitCacheMountAndSecret(t *testing.T) {
	h := needEngine29(t)
	// BuildKit's cache keys ignore LABEL: the token in the RUN lines keeps
	// a rerun on the same daemon from being all CACHED (no secret printed).
	unique := "true " + token()
	dir := writeContext(t, map[string]string{
		"Dockerfile": dockerfile(
			"RUN --mount=type=cache,target=/cache echo cached >/cache/f && cp /cache/f /from-cache && "+unique,
			"RUN --mount=type=secret,id=tok cat /run/secrets/tok && test ! -e /run/secrets/tok.left && "+unique,
			"COPY hello.txt /hello.txt",
		),
		"hello.txt": "hello\n",
		"tok":       "s3cr3t-token\n",
	})
	tag := "mybuild-e2e-bk:" + token()
	r := mybuild29(t, h, dir, "--network", "none", "--progress", "plain", "--secret", "id=tok,src=tok", "-t", tag, ".")
	if r.Code != 0 {
		t.Fatalf("build failed: %s", r)
	}
	wantAll(t, "stderr", r.Stderr,
		"#0 building with \"default\" instance using docker driver\n",
		"RUN --mount=type=cache,target=/cache",
		" s3cr3t-token\n")
	// BuildKit adds the step's time when it took long enough to show.
	if !regexp.MustCompile(`naming to docker\.io/library/` + regexp.QuoteMeta(tag) + `( \d+\.\ds)? done\n`).MatchString(r.Stderr) {
		t.Errorf("stderr does not name the image %s done:\n%s", tag, r.Stderr)
	}
	if r.Stdout != "" {
		t.Errorf("stdout = %q, want nothing (BuildKit's progress is on stderr)", r.Stdout)
	}
	id := strings.TrimSpace(run(t, cmdSpec{Bin: dockerBin, Args: []string{"-H", h, "image", "inspect", "-f", "{{.Id}}", tag}}).Stdout)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("image %s not in Engine 29: inspect gave %q", tag, id)
	}
	t.Cleanup(func() { run(t, cmdSpec{Bin: dockerBin, Args: []string{"-H", h, "rmi", "-f", tag}}) })
	// The image's file tree, through docker export (docker run needs a newer runc here).
	files := exportFiles(t, h, tag)
	if files["from-cache"] != "cached\n" || files["hello.txt"] != "hello\n" {
		t.Errorf("image files: from-cache=%q hello.txt=%q", files["from-cache"], files["hello.txt"])
	}
}

// exportFiles reads a few small files out of an image: docker create, then
// docker export into tar -x.
func exportFiles(t *testing.T, h, img string) map[string]string {
	t.Helper()
	cid := strings.TrimSpace(run(t, cmdSpec{Bin: dockerBin, Args: []string{"-H", h, "create", img, "true"}}).Stdout)
	if cid == "" {
		t.Fatalf("docker create %s failed", img)
	}
	defer run(t, cmdSpec{Bin: dockerBin, Args: []string{"-H", h, "rm", "-f", cid}})
	out := t.TempDir()
	cmd := exec.Command("sh", "-c", `"$0" -H "$1" export "$2" | tar -x -C "$3" from-cache hello.txt 2>/dev/null; true`, dockerBin, h, cid, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker export: %v %s", err, b)
	}
	files := map[string]string{}
	for _, n := range []string{"from-cache", "hello.txt"} {
		b, _ := os.ReadFile(filepath.Join(out, n))
		files[n] = string(b)
	}
	return files
}

// countingProxy forwards tcp connections to target, counts the bytes sent
// towards it and keeps each connection's first request head.
type countingProxy struct {
	ln    net.Listener
	sent  atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	heads []*headRecorder
}

// requests are the heads (request line and headers) of the first request
// of every connection so far.
func (p *countingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, h := range p.heads {
		out = append(out, h.head())
	}
	return out
}

// headRecorder keeps what was written up to the end of the first head.
type headRecorder struct {
	mu  sync.Mutex
	buf []byte
}

func (h *headRecorder) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !bytes.Contains(h.buf, []byte("\r\n\r\n")) && len(h.buf) < 16<<10 {
		h.buf = append(h.buf, b[:min(len(b), 16<<10-len(h.buf))]...)
	}
	return len(b), nil
}

func (h *headRecorder) head() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	head, _, _ := bytes.Cut(h.buf, []byte("\r\n\r\n"))
	return string(head) + "\r\n"
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			rec := &headRecorder{}
			p.mu.Lock()
			p.heads = append(p.heads, rec)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); n, _ := io.Copy(u, io.TeeReader(c, rec)); p.sent.Add(n); u.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// TestBuildKitUnchangedRebuildSendsNoContent: the context goes by filesync
// under buildx's shared key, so a second build of an unchanged 8 MiB
// context sends file metadata only.
func TestBuildKitUnchangedRebuildSendsNoContent(t *testing.T) {
	h := needEngine29(t)
	big := make([]byte, 8<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("COPY . /app")})
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	p := newCountingProxy(t, strings.TrimPrefix(h, "unix://"))
	ph := "tcp://" + p.ln.Addr().String()
	sent := func() int64 {
		before := p.sent.Load()
		if r := mybuild29(t, ph, dir, "--network", "none", "."); r.Code != 0 {
			t.Fatalf("build failed: %s", r)
		}
		// The proxy has counted once mybuild closed its connections.
		deadline := time.Now().Add(5 * time.Second)
		last := int64(-1)
		for time.Now().Before(deadline) && p.sent.Load() != last {
			last = p.sent.Load()
			time.Sleep(100 * time.Millisecond)
		}
		return last - before
	}
	first, second := sent(), sent()
	t.Logf("bytes sent: first build %d, unchanged rebuild %d", first, second)
	if first < int64(len(big)) {
		t.Errorf("first build sent %d bytes, less than the 8 MiB file: the counting is broken", first)
	}
	if second > 256<<10 {
		t.Errorf("unchanged rebuild sent %d bytes, want file metadata only (< 256 KiB)", second)
	}
}

// TestBuildKitSignalDuringRun: Ctrl-C while a RUN step runs cancels the
// solve: buildx's CANCELED and error lines, exit 130, and the step's
// process is gone from the machine soon after.
func TestBuildKitSignalDuringRun(t *testing.T) {
	h := needEngine29(t)
	// A sleep of 60 s and some, its digits unique to this run.
	marker := strconv.FormatInt(time.Now().UnixNano()%1e6+1e6, 10)[1:]
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN sleep 6" + marker)})
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mybuildBin, "-H", h, "--network", "none", "--progress", "plain", ".")
	cmd.Dir, cmd.Env = dir, append(baseEnv(), buildkitEnv...)
	var stderr testbed.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), "RUN sleep 6"+marker) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the RUN step never started:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the step's process is running
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	took := time.Since(start)
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 130 {
		t.Errorf("exit %d (%v), want 130\n%s", code, err, stderr.String())
	}
	if took > 10*time.Second {
		t.Errorf("mybuild took %v to exit after SIGINT", took)
	}
	if !strings.Contains(stderr.String(), "CANCELED") || !strings.HasSuffix(stderr.String(), "ERROR: failed to build: failed to solve: Canceled: context canceled\n") {
		t.Errorf("stderr does not end as buildx's does:\n%s", stderr.String())
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, _ := exec.Command("pgrep", "-f", "sleep 6"+marker).Output()
		if len(bytes.TrimSpace(out)) == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the RUN step still runs 10 s after Ctrl-C: pids %s", out)
		}
	}
}
