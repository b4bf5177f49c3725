//go:build linux

// Package differential runs the reference docker CLI and mybuild on the same
// invocations against fresh fake daemons (pkg/engine/enginetest) and checks
// that both send the same requests and print the same output. It holds tests
// only.
package differential

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
)

// dockerPath is the reference client, docker CLI 28.2.2.
const dockerPath = "/usr/local/bin/docker"

var (
	// mybuildPath is the binary built by TestMain.
	mybuildPath string
	// mybuildErr is why it could not be built; every case then fails.
	mybuildErr error
)

func TestMain(m *testing.M) {
	os.Exit(testbed.Main(m, "differential-bin", nil, func(dir string) (func(), error) {
		var err error
		if mybuildPath, err = testbed.BuildMybuild(dir); err != nil {
			mybuildPath = filepath.Join(dir, "mybuild")
		}
		return nil, err
	}, &mybuildErr))
}

// requireClients fails the test when mybuild did not build, and when the
// reference client is missing under MYBUILD_E2E=1 (CI, which installs it);
// elsewhere it then skips.
func requireClients(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(dockerPath); err != nil {
		msg := "docker CLI not found at " + dockerPath + ": differential suite skipped"
		if os.Getenv("MYBUILD_E2E") == "1" {
			t.Fatal("MYBUILD_E2E=1: " + msg)
		}
		t.Skip(msg + " (set MYBUILD_E2E=1 to make this a failure)")
	}
	if mybuildErr != nil {
		t.Fatal(mybuildErr)
	}
}
