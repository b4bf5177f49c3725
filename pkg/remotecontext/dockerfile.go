package remotecontext

import (
	"fmt"
	"path/filepath"

	"github.com/mybuild/mybuild/pkg/buildcontext"
)

// ResolveGitDockerfile resolves the context directory CloneGit returned and
// the -f value the way docker does for a Git context: unlike a local context,
// a relative -f is relative to the context directory (the checkout root, or
// the "#ref:subdir" subdirectory), not to the working directory; an absolute
// -f is taken as is; "" means <dir>/Dockerfile (or <dir>/dockerfile when only
// that exists) and "-" means stdin. Symlinks are followed (not scoped), so a
// Dockerfile that resolves outside the context directory is refused with
// "the Dockerfile (<f>) must be within the build context". Other errors are
// buildcontext.ResolveLocal's, e.g. "unable to evaluate symlinks in
// Dockerfile path: lstat <dir>/nope: no such file or directory".
func ResolveGitDockerfile(dir, dockerfile string) (*buildcontext.Local, error) {
	given := dockerfile
	if dockerfile != "" && dockerfile != "-" && !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(dir, dockerfile)
	}
	l, err := buildcontext.ResolveLocal(dir, dockerfile)
	if err != nil {
		return nil, err
	}
	if l.Outside() {
		return nil, fmt.Errorf("the Dockerfile (%s) must be within the build context", given)
	}
	return l, nil
}
