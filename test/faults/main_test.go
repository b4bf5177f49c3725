//go:build linux

// Package faults runs docker build (buildx v0.38.2) and mybuild through the
// same faults on the BuildKit path — a builder node killed or frozen during
// a RUN, the daemon connection cut or stalled by a proxy, a push refused,
// a signal, a full disk — and records for each client its exit code, the
// seconds it took to exit, its last error line and what it left behind.
// mybuild must not hang, exit 0 wrongly, leak a secret or leave a file;
// where buildx does worse, the row is a deliberate difference (README,
// Reliability). Every node, proxy and registry is made by the test on
// loopback. It holds tests only.
package faults

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
)

// dockerPath is the reference client; with the bed's DOCKER_CONFIG its
// build command is buildx's.
const dockerPath = "/usr/local/bin/docker"

// engine29 is the daemon of the docker-driver rows, and engine29TCP its
// plain TCP address that the proxy rows put a proxy in front of.
const (
	engine29    = "unix:///run/mybuild-engine29/docker.sock"
	engine29TCP = "127.0.0.1:2376"
	// base is a busybox image on the engines (scripts/test-daemon.sh).
	base = "mybuild-test/busybox:latest"
)

type bedT struct {
	dir      string
	config   string // DOCKER_CONFIG: the buildx plugin and the builders
	mybuild  string
	setupErr error
}

var bed bedT

// TestMain holds Engine 29's lock throughout: test/buildkit prunes its
// build cache, and BuildKit shares a vertex between concurrent builds.
func TestMain(m *testing.M) {
	code := testbed.Main(m, "mybuild-faults-", []string{"engine29"}, func(dir string) (func(), error) {
		bed.dir = dir
		return nil, bed.setup()
	}, &bed.setupErr)
	printRecord(os.Stdout)
	os.Exit(code)
}

func (b *bedT) setup() error {
	if err := testbed.Installed(dockerPath, testbed.Buildx(), testbed.Buildkitd(), testbed.Buildctl(), "/bin/busybox"); err != nil {
		return err
	}
	var err error
	if b.mybuild, err = testbed.BuildMybuild(b.dir); err != nil {
		return err
	}
	b.config = filepath.Join(b.dir, "docker-config")
	return testbed.BuildxConfig(b.config, "{}")
}

// env is a client's environment: the bed's docker config, nothing of the
// machine's docker settings, then extra.
func (b *bedT) env(extra ...string) []string {
	return testbed.CleanEnv(append([]string{"DOCKER_CONFIG=" + b.config}, extra...)...)
}

// need fails (under MYBUILD_E2E=1) or skips a test the bed could not
// serve or whose daemons do not answer.
func need(t *testing.T, daemons ...string) {
	t.Helper()
	testbed.Need(t, bed.setupErr, daemons...)
}
