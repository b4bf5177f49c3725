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
	"path/filepath"
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
)

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

func TestMain(m *testing.M) {
	os.Exit(testbed.Main(m, "mybuild-builders-", nil, func(dir string) (func(), error) {
		bed.dir = dir
		return bed.stop, bed.setup()
	}, &bed.setupErr))
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
	if err := testbed.Installed(testbed.Docker.Bin, testbed.Buildkitd(), testbed.Buildctl(), testbed.Registry()); err != nil {
		return err
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
	auth := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPassword))
	if err := testbed.BuildxConfig(b.config, fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, b.authReg.Addr, auth)); err != nil {
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
		if _, err := b.docker(append([]string{"buildx", "create", "--driver", "remote"}, args...)...); err != nil {
			return err
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

// docker runs the reference client in the bed (not compared: to set up or
// to look) and fails when it fails.
func (b *bedT) docker(args ...string) (testbed.Result, error) {
	r, err := testbed.Run(testbed.Cmd{Bin: testbed.Docker.Bin, Args: args, Env: b.env()})
	if err == nil && r.Code != 0 {
		err = fmt.Errorf("docker %v: exit %d\n%s", args, r.Code, r.Stderr)
	}
	return r, err
}

// need fails (under MYBUILD_E2E=1) or skips a test the bed could not
// serve, and checks a daemon it loads into.
func need(t *testing.T, daemons ...string) {
	t.Helper()
	testbed.Need(t, bed.setupErr, daemons...)
}
