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
	"fmt"
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

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mybuild-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bed.dir = dir
	bed.setupErr = bed.setup()
	code := m.Run()
	printRecord(os.Stdout)
	return code
}

func (b *bedT) setup() error {
	for _, p := range []string{dockerPath, testbed.Buildx(), testbed.Buildkitd(), testbed.Buildctl(), "/bin/busybox"} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing (run scripts/install-refs.sh): %w", p, err)
		}
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
