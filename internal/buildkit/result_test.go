package buildkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --metadata-file is written where buildx writes it and refused where
// buildx refuses, with its words: no directory is made for it.
func TestWriteMetadataFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, wantErr string
	}{
		{"in an existing directory", filepath.Join(dir, "meta.json"), ""},
		{"over an existing file", file, ""},
		{"in a directory that is not there", filepath.Join(dir, "nosuch", "meta.json"), "invalid output path: stat " + filepath.Join(dir, "nosuch") + ": no such file or directory"},
		{"under a file", filepath.Join(file, "meta.json"), "invalid output path: stat " + file + ": not a directory"},
		{"onto a directory", dir, "cannot write to a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := writeMetadataFile(tt.path, map[string]string{"k": "v"})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Fatalf("error %q, want %q", got, tt.wantErr)
			}
			if err == nil {
				if b, _ := os.ReadFile(tt.path); !strings.Contains(string(b), `"k": "v"`) {
					t.Errorf("file holds %q", b)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "nosuch")); !os.IsNotExist(err) {
		t.Errorf("a directory was made for the metadata file (%v)", err)
	}
}
