//go:build linux

package buildkit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

// services are what the daemons fetch from the test and what the clients
// forward: a git repository over dumb HTTP, a context tarball over HTTP,
// an ssh-agent and a key file; all on loopback.
type services struct {
	http   *http.Server
	addr   string // 127.0.0.1:PORT of the HTTP server
	agent  *exec.Cmd
	sock   string // the agent's socket
	key    string // an ssh private key file
	closed string // 127.0.0.1:PORT where nobody listens
}

// Files of the repository (branch main) and of the tarball.
var (
	gitFiles = map[string]string{
		"Dockerfile":     "FROM scratch\nCOPY hello.txt /\n",
		"hello.txt":      "from git\n",
		"sub/Dockerfile": "FROM scratch\nCOPY inner.txt /\n",
		"sub/inner.txt":  "from a subdirectory\n",
	}
	// policyFiles: a repository whose Dockerfile.rego denies its base.
	policyFiles = map[string]string{
		"Dockerfile":      "FROM " + base + "\nCOPY a.txt /\n",
		"Dockerfile.rego": denyImages,
		"a.txt":           "a\n",
	}
	tarTime  = time.Unix(1767225600, 0)
	tarFiles = map[string]string{
		"Dockerfile": "FROM scratch\nCOPY t.txt /\n",
		"t.txt":      "from a tarball\n",
	}
)

func startServices(dir string) (*services, error) {
	s := &services{}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s, err
	}
	www := filepath.Join(dir, "www")
	if err := makeGitRepo(filepath.Join(www, "repo.git"), gitFiles); err != nil {
		return s, err
	}
	if err := makeGitRepo(filepath.Join(www, "policy.git"), policyFiles); err != nil {
		return s, err
	}
	tarball, err := testbed.TarOf(tarFiles, tarTime)
	if err != nil {
		return s, err
	}
	if err := os.WriteFile(filepath.Join(www, "ctx.tar"), tarball, 0o644); err != nil {
		return s, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	s.addr = ln.Addr().String()
	s.http = &http.Server{Handler: http.FileServer(http.Dir(www)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	port, err := testbed.FreePort()
	if err != nil {
		return s, err
	}
	s.closed = fmt.Sprintf("127.0.0.1:%d", port)
	s.key = filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", s.key).CombinedOutput(); err != nil {
		return s, fmt.Errorf("ssh-keygen: %v %s", err, out)
	}
	return s, s.startAgent(filepath.Join(dir, "agent.sock"))
}

// startAgent runs an ssh-agent in the foreground on sock, holding s.key.
func (s *services) startAgent(sock string) error {
	s.sock = sock
	s.agent = exec.Command("ssh-agent", "-D", "-a", sock)
	s.agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := s.agent.Start(); err != nil {
		return fmt.Errorf("ssh-agent: %w", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		add := exec.Command("ssh-add", s.key)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		out, err := add.CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ssh-add: %v %s", err, out)
		}
	}
}

func (s *services) stop() {
	if s == nil {
		return
	}
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.http.Shutdown(ctx)
	}
	if s.agent != nil && s.agent.Process != nil {
		_ = s.agent.Process.Kill()
		_ = s.agent.Wait()
	}
}

// gitURL is the repository over dumb HTTP, with a fragment (ref, subdir).
func (s *services) gitURL(fragment string) string {
	u := "http://" + s.addr + "/repo.git"
	if fragment != "" {
		u += "#" + fragment
	}
	return u
}

// makeGitRepo commits files on branch main of a bare repository at dir,
// ready for dumb HTTP (update-server-info).
func makeGitRepo(dir string, files map[string]string) error {
	work := dir + ".work"
	if err := testbed.WriteFiles(work, files); err != nil {
		return err
	}
	git := func(d string, args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = d
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
			"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z", "GIT_CONFIG_NOSYSTEM=1", "HOME="+d)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v %s", args, err, out)
		}
		return nil
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "test"}} {
		if err := git(work, args...); err != nil {
			return err
		}
	}
	if err := git(filepath.Dir(dir), "clone", "-q", "--bare", work, dir); err != nil {
		return err
	}
	return git(dir, "update-server-info")
}
