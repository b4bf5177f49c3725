//go:build linux

// Package buildkit runs docker build (buildx v0.38.2, its docker driver) and
// mybuild on the same inputs against the same daemon's BuildKit, on Engine
// 29 and on Engine 20.10, and compares what they exit with, print (the plain
// progress vertex by vertex) and leave: the image's config and files, every
// -o output, pushes, iidfiles and metadata files. Everything is on loopback
// and made by TestMain. It holds tests only.
package buildkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
)

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

// TestMain holds the engines' locks for the whole run: other packages'
// BuildKit tests count on the build caches that this suite prunes.
func TestMain(m *testing.M) {
	var locks []string
	for _, e := range engines {
		locks = append(locks, e.lock)
	}
	os.Exit(testbed.Main(m, "mybuild-bkdiff-", locks, func(dir string) (func(), error) {
		bed.dir = dir
		return bed.stop, bed.setup()
	}, &bed.setupErr))
}

func (b *bedT) stop() {
	if b.reg != nil {
		b.reg.Stop()
	}
	b.svc.stop()
}

func (b *bedT) setup() error {
	if err := testbed.Installed(testbed.Docker.Bin, testbed.Registry()); err != nil {
		return err
	}
	var err error
	if b.mybuild, err = testbed.BuildMybuild(b.dir); err != nil {
		return err
	}
	b.config = filepath.Join(b.dir, "docker-config")
	if err := testbed.BuildxConfig(b.config, "{}"); err != nil {
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
	testbed.Need(t, bed.setupErr, e.host)
}
