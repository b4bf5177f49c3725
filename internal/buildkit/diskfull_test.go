package buildkit

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/moby/buildkit/client"
)

// A full destination is test/faults' row 8a (it needs a small tmpfs); here
// the cases where the error must stay as the daemon gave it.
func TestLocalOutputFullLeavesOtherErrors(t *testing.T) {
	dir := t.TempDir()
	local := []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: filepath.Join(dir, "not", "yet")}}
	other := errors.New("failed to solve: process did not complete")
	for _, tc := range []struct {
		name    string
		err     error
		exports []client.ExportEntry
	}{
		{"no error", nil, local},
		{"not an EOF", other, local},
		{"EOF, space left", io.EOF, local},
		{"EOF, no local output", io.EOF, []client.ExportEntry{{Type: client.ExporterOCI}}},
	} {
		if got := localOutputFull(tc.err, tc.exports); got != tc.err {
			t.Errorf("%s: %v, want %v unchanged", tc.name, got, tc.err)
		}
	}
	if diskFull(dir) {
		t.Errorf("diskFull(%s) on a filesystem with room", dir)
	}
}
