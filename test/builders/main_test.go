//go:build linux

// Package builders runs docker build (buildx v0.38.2) and mybuild with the
// same standalone BuildKit builders — buildkitd nodes behind buildx's remote
// driver, made with `docker buildx create` — on the same inputs, and
// compares what they print, what they exit with, and what they leave: the
// images pushed to a registry, loaded into a docker daemon, written to the
// disk. Everything runs on loopback and is made by TestMain
// (internal/testbed). It holds tests only.
package builders

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
)

// dockerPath is the reference client; with the bed's DOCKER_CONFIG its
// build command is buildx's.
const dockerPath = "/usr/local/bin/docker"

// Daemons the images are loaded into (scripts/test-daemon.sh,
// scripts/test-engine29.sh).
const (
	engine20 = "unix:///var/run/docker.sock"
	engine29 = "unix:///run/mybuild-engine29/docker.sock"
)

// Credentials of the registry that asks for them.
const regUser, regPassword = "builder", "s3cret-pass"

type bedT struct {
	dir      string
	config   string // DOCKER_CONFIG: buildx plugin, builders, credentials
	tls      *testbed.TLS
	nodes    [2]*testbed.Node
	reg      *testbed.Reg // open
	authReg  *testbed.Reg // htpasswd
	mybuild  string
	setupErr error
}

var bed bedT

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mybuild-builders-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bed.dir = dir
	defer bed.stop()
	bed.setupErr = bed.setup()
	return m.Run()
}

func (b *bedT) stop() {
	for _, n := range b.nodes {
		n.Stop()
	}
	if b.reg != nil {
		b.reg.Stop()
	}
	if b.authReg != nil {
		b.authReg.Stop()
	}
}

func (b *bedT) setup() error {
	for _, p := range []string{dockerPath, testbed.Buildx(), testbed.Buildkitd(), testbed.Buildctl(), testbed.Registry()} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing (run scripts/install-refs.sh): %w", p, err)
		}
	}
	var err error
	if b.mybuild, err = testbed.BuildMybuild(b.dir); err != nil {
		return err
	}
	if b.tls, err = testbed.MakeTLS(b.dir); err != nil {
		return err
	}
	for i := range b.nodes {
		if b.nodes[i], err = testbed.StartBuildkitd(filepath.Join(b.dir, fmt.Sprintf("node%d", i)), b.tls); err != nil {
			return err
		}
	}
	if b.reg, err = testbed.StartRegistry(filepath.Join(b.dir, "reg"), "", ""); err != nil {
		return err
	}
	if b.authReg, err = testbed.StartRegistry(filepath.Join(b.dir, "authreg"), regUser, regPassword); err != nil {
		return err
	}
	b.config = filepath.Join(b.dir, "docker-config")
	if err := os.MkdirAll(filepath.Join(b.config, "cli-plugins"), 0o700); err != nil {
		return err
	}
	if err := os.Symlink(testbed.Buildx(), filepath.Join(b.config, "cli-plugins", "docker-buildx")); err != nil {
		return err
	}
	auth := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPassword))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, b.authReg.Addr, auth)
	if err := os.WriteFile(filepath.Join(b.config, "config.json"), []byte(cfg), 0o600); err != nil {
		return err
	}
	if err := testbed.PushBase(b.nodes[0], b.reg.Addr+"/base:1", b.config); err != nil {
		return err
	}
	if err := testbed.PushBase(b.nodes[0], b.authReg.Addr+"/base:1", b.config); err != nil {
		return err
	}
	return b.createBuilders()
}

// createBuilders makes the builders with the reference's own `docker buildx
// create`, so that both clients read the same store.
func (b *bedT) createBuilders() error {
	t := b.tls
	mtls := fmt.Sprintf("cacert=%s,cert=%s,key=%s", t.CA, t.ClientCert, t.ClientKey)
	other, err := testbed.MakeTLS(mkdir(filepath.Join(b.dir, "other-ca")))
	if err != nil {
		return err
	}
	closed, err := testbed.FreePort()
	if err != nil {
		return err
	}
	for _, args := range [][]string{
		{"--name", "single", "--driver-opt", mtls, b.nodes[0].TCP},
		{"--name", "fleet", "--driver-opt", mtls, "--platform", "linux/amd64", b.nodes[0].TCP},
		{"--name", "fleet", "--append", "--driver-opt", mtls, "--platform", "linux/arm64", b.nodes[1].TCP},
		{"--name", "second", "--driver-opt", mtls, b.nodes[1].TCP},
		{"--name", "sock", b.nodes[0].Unix},
		{"--name", "loader", "--driver-opt", mtls + ",default-load=true", b.nodes[0].TCP},
		{"--name", "nocert", "--driver-opt", "cacert=" + t.CA, b.nodes[0].TCP},
		{"--name", "badca", "--driver-opt", fmt.Sprintf("cacert=%s,cert=%s,key=%s", other.CA, t.ClientCert, t.ClientKey), b.nodes[0].TCP},
		{"--name", "down", fmt.Sprintf("tcp://127.0.0.1:%d", closed)},
	} {
		cmd := exec.Command(dockerPath, append([]string{"buildx", "create", "--driver", "remote"}, args...)...)
		cmd.Env = b.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("docker buildx create %v: %v\n%s", args, err, out)
		}
	}
	return nil
}

func mkdir(p string) string { _ = os.MkdirAll(p, 0o700); return p }

// env is both clients' environment: the bed's docker config, nothing of
// the machine's docker settings.
func (b *bedT) env(extra ...string) []string {
	return testbed.CleanEnv(append([]string{"DOCKER_CONFIG=" + b.config}, extra...)...)
}

// need fails (under MYBUILD_E2E=1) or skips a test the bed could not
// serve, and checks a daemon it loads into.
func need(t *testing.T, daemons ...string) {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("MYBUILD_E2E") == "1" {
		fail = t.Fatalf
	}
	if bed.setupErr != nil {
		fail("the builder test bed could not be set up: %v", bed.setupErr)
	}
	for _, d := range daemons {
		if err := testbed.Ping(d); err != nil {
			fail("no daemon at %s: %v", d, err)
			return
		}
	}
}
