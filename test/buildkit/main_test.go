//go:build linux

// Package buildkit runs docker build (buildx v0.38.2, its docker driver) and
// mybuild on the same inputs against the same daemon's BuildKit, on Engine
// 29 and on Engine 20.10, and compares what they exit with, print (the plain
// progress vertex by vertex) and leave: the image's config and files, every
// -o output, pushes, iidfiles and metadata files. Everything is on loopback
// and made by TestMain. It holds tests only.
package buildkit

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

// engine is a daemon both clients build on.
type engine struct {
	name string // in test names
	host string // DOCKER_HOST
	lock string // testbed.Lock name, held for the whole run
	// env is what both clients get on it: BuildKit on 20.10 is asked for.
	env []string
}

var engines = []engine{
	{name: "engine29", host: "unix:///run/mybuild-engine29/docker.sock", lock: "engine29"},
	{name: "engine20", host: "unix:///var/run/docker.sock", lock: "engine20", env: []string{"DOCKER_BUILDKIT=1"}},
}

type bedT struct {
	dir      string
	config   string // DOCKER_CONFIG: the buildx plugin
	mybuild  string
	reg      *testbed.Reg
	svc      *services
	setupErr error
}

var bed bedT

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mybuild-bkdiff-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bed.dir = dir
	// Other packages' BuildKit tests count on the engines' build caches
	// that this suite prunes: one at a time.
	for _, e := range engines {
		release, err := testbed.Lock(e.lock)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer release()
	}
	defer bed.stop()
	bed.setupErr = bed.setup()
	return m.Run()
}

func (b *bedT) stop() {
	if b.reg != nil {
		b.reg.Stop()
	}
	b.svc.stop()
}

func (b *bedT) setup() error {
	for _, p := range []string{dockerPath, testbed.Buildx(), testbed.Registry()} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing (run scripts/install-refs.sh): %w", p, err)
		}
	}
	var err error
	if b.mybuild, err = testbed.BuildMybuild(b.dir); err != nil {
		return err
	}
	b.config = filepath.Join(b.dir, "docker-config")
	if err := os.MkdirAll(filepath.Join(b.config, "cli-plugins"), 0o700); err != nil {
		return err
	}
	if err := os.Symlink(testbed.Buildx(), filepath.Join(b.config, "cli-plugins", "docker-buildx")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.config, "config.json"), []byte("{}"), 0o600); err != nil {
		return err
	}
	if b.reg, err = testbed.StartRegistry(filepath.Join(b.dir, "reg"), "", ""); err != nil {
		return err
	}
	b.svc, err = startServices(filepath.Join(b.dir, "svc"))
	return err
}

// env is both clients' environment on e: the bed's docker config and
// nothing of the machine's docker settings.
func (b *bedT) env(e engine, extra ...string) []string {
	env := testbed.CleanEnv("DOCKER_CONFIG="+b.config, "DOCKER_HOST="+e.host)
	return append(append(env, e.env...), extra...)
}

// need fails (under MYBUILD_E2E=1) or skips a test the bed could not
// serve or whose daemon does not answer.
func need(t *testing.T, e engine) {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("MYBUILD_E2E") == "1" {
		fail = t.Fatalf
	}
	if bed.setupErr != nil {
		fail("the BuildKit test bed could not be set up: %v", bed.setupErr)
	}
	if err := testbed.Ping(e.host); err != nil {
		fail("no daemon at %s (scripts/test-daemon.sh, scripts/test-engine29.sh): %v", e.host, err)
	}
}
