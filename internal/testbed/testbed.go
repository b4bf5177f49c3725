// Package testbed starts the standalone BuildKit components that the
// builder tests run against, all on loopback and all made by the tests:
// certificates (a CA, a server certificate for 127.0.0.1, a client
// certificate), buildkitd nodes with the OCI worker, and registries (one
// open, one with htpasswd authentication). The binaries are the ones
// scripts/install-refs.sh builds. The differential suites also share here
// how they read what the two clients did: BuildKit's progress as vertices
// (progress.go) and outputs as masked file trees (trees.go).
package testbed

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Refs is where scripts/install-refs.sh keeps the reference programs.
func Refs() string {
	if d := os.Getenv("MYBUILD_REFS"); d != "" {
		return d
	}
	return "/opt/mybuild-refs"
}

// Binaries of the reference programs.
func Buildkitd() string { return filepath.Join(Refs(), "buildkit-v0.34.2", "buildkitd") }
func Buildctl() string  { return filepath.Join(Refs(), "buildkit-v0.34.2", "buildctl") }
func Registry() string  { return filepath.Join(Refs(), "registry-v3.1.2", "registry") }
func Buildx() string    { return filepath.Join(Refs(), "buildx-v0.38.2", "buildx") }

// FreePort returns a loopback TCP port nobody listens on (yet).
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Process is a started component; Stop ends it (SIGTERM, then SIGKILL).
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	Log  string
}

// Stop ends the process and waits for it.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func start(log string, name string, args ...string) (*Process, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{}), Log: log}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *Process) logTail() string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Node is a running buildkitd.
type Node struct {
	*Process
	// TCP is tcp://127.0.0.1:PORT (mutual TLS when started with TLS),
	// Unix its unix:// socket.
	TCP, Unix string
}

// StartBuildkitd starts a buildkitd with its own root, a unix socket and a
// tcp address (with mutual TLS when t is set), and waits until it answers.
func StartBuildkitd(dir string, t *TLS) (*Node, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	n := &Node{TCP: fmt.Sprintf("tcp://127.0.0.1:%d", port), Unix: "unix://" + filepath.Join(dir, "buildkitd.sock")}
	args := []string{
		"--containerd-worker=false", "--oci-worker=true",
		"--root", filepath.Join(dir, "root"),
		"--addr", n.Unix, "--addr", n.TCP,
		// Each instance binds its own OpenTelemetry socket: the default
		// /run/buildkit/otel-grpc.sock is one for all.
		"--otel-socket-path", filepath.Join(dir, "otel.sock"),
	}
	if t != nil {
		args = append(args, "--tlscacert", t.CA, "--tlscert", t.ServerCert, "--tlskey", t.ServerKey)
	}
	if n.Process, err = start(filepath.Join(dir, "buildkitd.log"), Buildkitd(), args...); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command(Buildctl(), "--addr", n.Unix, "debug", "workers").CombinedOutput()
		if err == nil && bytes.Contains(out, []byte("linux/amd64")) {
			return n, nil
		}
		if n.exited() {
			return nil, fmt.Errorf("buildkitd exited: %s", n.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.Stop()
	return nil, fmt.Errorf("buildkitd did not answer within 30 s: %s", n.logTail())
}

// Reg is a running registry at Addr (127.0.0.1:PORT).
type Reg struct {
	*Process
	Addr string
}

// StartRegistry starts a registry with filesystem storage in dir; with a
// user, it asks for basic authentication with that user and password.
func StartRegistry(dir, user, password string) (*Reg, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &Reg{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), r.Addr)
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, err
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: mybuild-test\n    path: %s\n", htpasswd)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if r.Process, err = start(filepath.Join(dir, "registry.log"), Registry(), "serve", cfgPath); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Addr+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return r, nil
			}
		}
		if r.exited() {
			return nil, fmt.Errorf("registry exited: %s", r.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Stop()
	return nil, fmt.Errorf("registry did not answer within 20 s: %s", r.logTail())
}

// PushBase builds a runnable busybox base image with buildctl on node
// (nothing is pulled: FROM scratch, the machine's static busybox, its
// applets installed by a RUN) and pushes it as ref, with the registry
// credentials of dockerConfig ("" for none).
func PushBase(node *Node, ref, dockerConfig string) error {
	dir, err := os.MkdirTemp("", "testbed-base")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("a static busybox is needed (Debian's busybox-static): %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755); err != nil {
		return err
	}
	df := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nENV PATH=/bin\nCMD [\"sh\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(Buildctl(), "--addr", node.Unix, "build", "--frontend", "dockerfile.v0",
		"--local", "context="+dir, "--local", "dockerfile="+dir,
		"--opt", "force-network-mode=none",
		"--output", "type=image,name="+ref+",push=true")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("buildctl build of the base image: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Lock holds an exclusive lock named name among the test processes of this
// machine until release is called: suites that prune a shared daemon's
// build cache and tests that count on that cache take it for the daemon.
func Lock(name string) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "mybuild-test-"+name+".lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
