package main

import (
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
)

// mybuildBinary builds the real binary into a directory of the test, for
// the tests that measure or place the process itself (testscript runs
// cli.Main inside the test binary instead). The build cache makes all but
// the first build a link.
func mybuildBinary(t *testing.T) string {
	t.Helper()
	bin, err := testbed.BuildMybuild(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// skipUnlessCI skips a test whose tool or privilege is missing, except
// under MYBUILD_E2E=1 (CI), whose scripts install everything: there a
// missing tool must fail, not hide the test.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	testbed.Unavailable(t, format, args...)
}
