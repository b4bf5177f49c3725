package buildcontext

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultDockerfileName is the Dockerfile looked for when -f is not given.
const DefaultDockerfileName = "Dockerfile"

// Local is a local directory context.
type Local struct {
	// Dir is the absolute context directory with symlinks resolved.
	Dir string
	// Dockerfile is the Dockerfile's path relative to Dir, slash-separated;
	// it starts with "../" when the Dockerfile lies outside the context.
	Dockerfile string
	// DockerfileFromStdin is set for -f -.
	DockerfileFromStdin bool
}

// Outside reports whether the Dockerfile lies outside the context directory
// (it is then spliced into the tar under a random name).
func (l *Local) Outside() bool { return strings.HasPrefix(l.Dockerfile, "../") }

// ResolveLocal resolves a local context directory and its Dockerfile: -f is
// relative to the working directory, symlinks are resolved in both, and a
// lowercase "dockerfile" is taken when "Dockerfile" is absent. Errors read
// as docker's after its "unable to prepare context: " prefix.
func ResolveLocal(contextDir, dockerfile string) (*Local, error) {
	dir, err := resolveDir(contextDir)
	if err != nil {
		return nil, err
	}
	l := &Local{Dir: dir}
	if dockerfile == "-" {
		l.DockerfileFromStdin = true
		return l, nil
	}
	if dockerfile != "" {
		if dockerfile, err = filepath.Abs(dockerfile); err != nil {
			return nil, fmt.Errorf("unable to get absolute path to Dockerfile: %v", err)
		}
	}
	rel, err := dockerfileRelPath(dir, dockerfile)
	if err != nil {
		return nil, err
	}
	l.Dockerfile = filepath.ToSlash(rel)
	return l, nil
}

func resolveDir(given string) (string, error) {
	abs, err := filepath.Abs(given)
	if err != nil {
		return "", fmt.Errorf("unable to get absolute context directory of given context directory %q: %v", given, err)
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("unable to evaluate symlinks in context path: %v", err)
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return "", fmt.Errorf("unable to stat context directory %q: %v", abs, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("context must be a directory: %s", abs)
	}
	return abs, nil
}

func dockerfileRelPath(dir, given string) (string, error) {
	abs := given
	if abs == "" {
		abs = filepath.Join(dir, DefaultDockerfileName)
		if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
			alt := filepath.Join(dir, strings.ToLower(DefaultDockerfileName))
			if _, err := os.Lstat(alt); err == nil {
				abs = alt
			}
		}
	}
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(dir, abs)
	}
	abs, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("unable to evaluate symlinks in Dockerfile path: %v", err)
	}
	if _, err := os.Lstat(abs); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("Cannot locate Dockerfile: %q", abs)
		}
		return "", fmt.Errorf("unable to stat Dockerfile: %v", err)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return "", fmt.Errorf("unable to get relative Dockerfile path: %v", err)
	}
	return rel, nil
}
