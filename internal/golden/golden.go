// Package golden compares test output with files under testdata/golden,
// rewriting them when the test runs with -update.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Path is the golden file of the running test, named after t.Name().
func Path(t testing.TB, ext string) string {
	return filepath.Join("testdata", "golden", strings.ReplaceAll(t.Name(), "/", "_")+ext)
}

// Assert compares got with the test's golden file, byte for byte.
func Assert(t testing.TB, got []byte, ext string) {
	t.Helper()
	p := Path(t, ext)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- want\n%q\n--- got\n%q", p, want, got)
	}
}
