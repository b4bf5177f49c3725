// Package dockerignore reads a build context's .dockerignore the way the
// docker CLI does, on top of moby/patternmatcher.
package dockerignore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// FileName is the ignore file's name at the context root.
const FileName = ".dockerignore"

// Read returns the patterns of dir/.dockerignore, none when it is absent.
// Parse errors read "error reading .dockerignore: …" as docker's do.
func Read(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		// A .dockerignore that is a directory opens and fails here
		// ("read …: is a directory"), as a line over 64 KiB does.
		return nil, fmt.Errorf("error reading .dockerignore: %w", err)
	}
	return patterns, nil
}

// KeepBuildFiles appends exceptions so that .dockerignore and the
// Dockerfile travel even when listed, as docker's TrimBuildFilesFromExcludes
// does. dockerfile is slash-separated and relative to the context; a
// Dockerfile from stdin is not kept.
func KeepBuildFiles(excludes []string, dockerfile string, dockerfileFromStdin bool) []string {
	if matches(FileName, excludes) {
		excludes = append(excludes, "!"+FileName)
	}
	if dockerfile != "" && !dockerfileFromStdin && matches(dockerfile, excludes) {
		excludes = append(excludes, "!"+dockerfile)
	}
	return excludes
}

// matches uses the single-parent rule docker uses for this one decision.
func matches(file string, patterns []string) bool {
	ok, _ := patternmatcher.Matches(file, patterns) //nolint:staticcheck // docker's own choice for this check
	return ok
}
