package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

// ssh:// against the real daemon through a real sshd: the test starts /usr/sbin/sshd on a
// loopback port with a host key and an authorized key of its own, and puts first on PATH an
// `ssh` that runs /usr/bin/ssh with the test's identity and known_hosts (OpenSSH reads ~/.ssh
// from the passwd entry, not $HOME, so a wrapper is the way in). On the server side the
// remote command `docker system dial-stdio` is /usr/local/bin/docker (the reference CLI),
// pointed at the test daemon's socket.

const (
	sshdBin    = "/usr/sbin/sshd"
	sshBin     = "/usr/bin/ssh"
	sshKeygen  = "ssh-keygen"
	privsepDir = "/run/sshd" // compiled into Debian's sshd; the openssh-server package's service makes it
	// sshSessionPath is the PATH of the test's ssh sessions: the remote `docker` must be
	// the reference CLI in /usr/local/bin, not Debian's /usr/bin/docker.
	sshSessionPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// sshServer is a running test sshd and the client set-up that reaches it.
type sshServer struct {
	addr string // 127.0.0.1:port
	// env puts the wrapper ssh first on PATH; add it to both clients' environment.
	env []string
	// argsLog gets one line per ssh run, each argument in brackets, unless
	// $MYBUILD_E2E_SSH_LOG names another file (see clientEnv).
	argsLog string
	log     string // sshd's own log (-e)
}

// clientEnv is env with the wrapper's argument log in a file of the test's own.
func (s *sshServer) clientEnv(t tb) (env []string, argsLog string) {
	argsLog = filepath.Join(t.TempDir(), "ssh-args")
	return append([]string{"MYBUILD_E2E_SSH_LOG=" + argsLog}, s.env...), argsLog
}

// host is the ssh:// address of the daemon behind the test sshd, as root.
func (s *sshServer) host() string { return "ssh://root@" + s.addr }

// needSSH skips (or, with MYBUILD_E2E=1, fails) when OpenSSH is not installed.
func needSSH(t *testing.T) {
	t.Helper()
	var missing []string
	for _, p := range []string{sshdBin, sshBin} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := exec.LookPath(sshKeygen); err != nil {
		missing = append(missing, sshKeygen)
	}
	if len(missing) == 0 {
		return
	}
	testbed.Unavailable(t, "OpenSSH is not installed (missing %s); scripts/test-daemon.sh installs openssh-client and openssh-server", strings.Join(missing, ", "))
}

// unusedPort returns a loopback port that nothing listened on a moment ago.
func unusedPort(t tb) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// sshKeygenPair makes an ed25519 key pair without a passphrase: path and path.pub.
func sshKeygenPair(t tb, path, comment string) {
	t.Helper()
	out, err := exec.Command(sshKeygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", sshKeygen, err, out)
	}
}

// startSSHD starts a test sshd on a free loopback port; it is killed when the test ends.
func startSSHD(t *testing.T) *sshServer {
	t.Helper()
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	sshKeygenPair(t, p("host_key"), "mybuild-e2e-host")
	sshKeygenPair(t, p("id"), "mybuild-e2e-client")
	pub, err := os.ReadFile(p("id.pub"))
	if err != nil {
		t.Fatal(err)
	}
	writePrivate(t, p("authorized_keys"), pub)
	hostPub, err := os.ReadFile(p("host_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p("remote-docker-config"), 0o700); err != nil {
		t.Fatal(err)
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll(privsepDir, 0o755); err != nil {
		t.Fatalf("sshd needs %s: %v", privsepDir, err)
	}

	s := &sshServer{argsLog: p("ssh-args"), log: p("sshd.log")}
	for attempt := 1; ; attempt++ {
		s.addr = "127.0.0.1:" + unusedPort(t)
		writePrivate(t, p("sshd_config"), []byte(strings.Join([]string{
			"ListenAddress " + s.addr,
			"HostKey " + p("host_key"),
			"PidFile " + p("sshd.pid"),
			"AuthorizedKeysFile " + p("authorized_keys"),
			"PermitRootLogin prohibit-password",
			"PubkeyAuthentication yes",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"StrictModes no",
			"X11Forwarding no",
			"AllowTcpForwarding no",
			"PrintMotd no",
			// SHLVL=1: bash runs the remote command as a second-level shell, which does
			// not source ~/.bashrc (bash sources it for ssh commands otherwise; root's
			// may set up slow tools: seconds per session under load, and its own PATH).
			"SetEnv SHLVL=1 PATH=" + sshSessionPath + " DOCKER_HOST=unix://" + sock + " DOCKER_CONFIG=" + p("remote-docker-config"),
			"",
		}, "\n")))
		logf, err := os.Create(s.log)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sshdBin, "-D", "-e", "-f", p("sshd_config"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("starting sshd: %v", err)
		}
		logf.Close()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		err = waitListening(s.addr, exited, 10*time.Second)
		if err == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
			})
			break
		}
		_ = cmd.Process.Kill()
		<-exited
		if log := fileText(s.log); attempt >= 3 || !strings.Contains(log, "Address already in use") {
			t.Fatalf("sshd on %s: %v\n%s", s.addr, err, log)
		}
		// the port was taken between unusedPort and sshd's bind: another one
	}

	host, port, _ := net.SplitHostPort(s.addr)
	writePrivate(t, p("known_hosts"), []byte(fmt.Sprintf("[%s]:%s %s", host, port, hostPub)))
	writePrivate(t, p("ssh_config"), []byte(strings.Join([]string{
		"Host *",
		"  IdentityFile " + p("id"),
		"  IdentitiesOnly yes",
		"  UserKnownHostsFile " + p("known_hosts"),
		"  GlobalKnownHostsFile /dev/null",
		"  StrictHostKeyChecking yes",
		"  BatchMode yes",
		"  LogLevel ERROR",
		"",
	}, "\n")))
	bin := p("bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nlog=${MYBUILD_E2E_SSH_LOG:-" + s.argsLog + "}\n" +
		"printf '[%s]' \"$@\" >>\"$log\"\necho >>\"$log\"\n" +
		"exec " + sshBin + " -F " + p("ssh_config") + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	s.env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}

	// The remote command must be the reference docker, talking to the test daemon.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	probe := exec.CommandContext(ctx, filepath.Join(bin, "ssh"), "-T", "-l", "root", "-p", port, "--", host, "command -v docker; echo $DOCKER_HOST")
	out, err := probe.CombinedOutput()
	if want := "/usr/local/bin/docker\nunix://" + sock + "\n"; err != nil || string(out) != want {
		t.Fatalf("ssh session probe: %v: got %q, want %q\nsshd log:\n%s", err, out, want, fileText(s.log))
	}
	return s
}

// waitListening waits until addr accepts connections, the process exits or d passes.
func waitListening(addr string, exited <-chan error, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("sshd exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %s", d)
		}
	}
}

func fileText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func TestSSH(t *testing.T) {
	needDaemon(t)
	needReference(t)
	needSSH(t)
	s := startSSHD(t)
	_, port, _ := net.SplitHostPort(s.addr)
	wantArgv := "[-o ConnectTimeout=30][-T][-l][root][-p][" + port + "][--][127.0.0.1][docker][system][dial-stdio]"

	t.Run("build", func(t *testing.T) {
		t.Parallel()
		env, argsLog := s.clientEnv(t)
		checkParity(t, parityCase{
			host:  s.host(),
			env:   env,
			files: map[string]string{"Dockerfile": "FROM base\nRUN echo through sshd\n", "f": "sent through ssh\n"},
		})
		wantSSHRuns(t, argsLog, wantArgv)
	})

	t.Run("failing RUN", func(t *testing.T) {
		t.Parallel()
		checkParity(t, parityCase{
			host:  s.host(),
			env:   s.env,
			files: map[string]string{"Dockerfile": "FROM base\nRUN echo out; exit 3\n"},
		})
	})

	t.Run("closed port", func(t *testing.T) {
		t.Parallel()
		closed := "127.0.0.1:" + unusedPort(t)
		dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN exit 9")})
		d, m := bothClients(t, dir, []string{"-H", "ssh://root@" + closed}, []string{"-t", "mybuild-e2e/never:ssh", "."}, s.env)
		wantSameFailure(t, d, m)
		if !strings.Contains(m.Stderr, "Connection refused") {
			t.Errorf("mybuild's error does not give ssh's reason: %q", m.Stderr)
		}
	})

	t.Run("context", func(t *testing.T) {
		t.Parallel()
		env, argsLog := s.clientEnv(t)
		buildInContext(t, env, "sshctx", "host="+s.host(), func() { wantSSHRuns(t, argsLog, wantArgv) })
	})
}

// wantSSHRuns checks that every ssh the clients ran (at least one) had docker's arguments.
func wantSSHRuns(t tb, argsLog, want string) {
	t.Helper()
	log := fileText(argsLog)
	if log == "" || strings.Trim(strings.ReplaceAll(log, want+"\n", ""), "\n") != "" {
		t.Errorf("ssh runs:\n%s\nwant each to be %s", log, want)
	}
}
