package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// mybuildBinary builds the real binary into a directory of the test, for
// the tests that measure or place the process itself (testscript runs
// cli.Main inside the test binary instead). The build cache makes all but
// the first build a link.
func mybuildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mybuild")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		gobin = p
	}
	if out, err := exec.Command(gobin, "build", "-o", bin, "github.com/mybuild/mybuild/cmd/mybuild").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
