package main

import (
	"os"
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

// skipUnlessCI skips a test whose tool or privilege is missing, except
// under MYBUILD_E2E=1 (CI), whose scripts install everything: there a
// missing tool must fail, not hide the test.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("MYBUILD_E2E") == "1" {
		t.Fatalf("MYBUILD_E2E=1: "+format, args...)
	}
	t.Skipf(format, args...)
}
