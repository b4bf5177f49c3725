package buildkit

import (
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/mybuild/mybuild/internal/atomicfile"
)

// buildx keeps, beside the daemon's build history, a local state under its
// directory that `docker buildx history` and `docker buildx ls` read: per
// build ref the local paths of its context and Dockerfile (the build's
// NAME and Context: come from them), per builder the time of its last
// use. mybuild writes both as buildx v0.38.2 does (its localstate and
// store packages), so its builds are listed as buildx's are.

// localState is one ref's file, refs/<builder>/<node>/<ref>.
type localState struct {
	Target         string
	LocalPath      string
	DockerfilePath string
	GroupRef       string `json:",omitempty"`
}

// saveLocalState writes ref's local state for node n of b before its
// solve, as buildx does for a `docker build` (its one target is
// "default"); a --call build keeps none.
func (o *options) saveLocalState(b *Instance, n *Node, ref string) error {
	if ref == "" || o.callFunc != nil {
		return nil
	}
	st, ok := localStateOf(o.ContextPath, o.DockerfilePath)
	if !ok {
		return nil
	}
	dt, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(o.BuildxDir, "refs", b.Name, n.Name, ref), dt, 0o644)
}

// localStateOf makes local paths absolute; remote contexts and stdin ("-")
// are kept as given.
func localStateOf(contextPath, dockerfilePath string) (localState, bool) {
	st := localState{Target: "default", LocalPath: contextPath, DockerfilePath: dockerfilePath}
	local := func(p string) bool { return p != "" && p != "-" && !isRemoteURL(contextPath) }
	if local(dockerfilePath) && contextPath != "-" {
		if abs, err := filepath.Abs(dockerfilePath); err == nil {
			st.DockerfilePath = abs
		}
	}
	if local(contextPath) {
		if abs, err := filepath.Abs(contextPath); err == nil {
			st.LocalPath = abs
		}
	}
	return st, st.LocalPath != "" || st.DockerfilePath != ""
}

// updateLastActivity stamps builder's last use (activity/<builder>), which
// `docker buildx ls` shows.
func updateLastActivity(buildxDir, builder string, now time.Time) error {
	return atomicfile.Write(filepath.Join(buildxDir, "activity", builder), []byte(now.UTC().Format(time.RFC3339)), 0o600)
}
