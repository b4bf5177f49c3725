package buildkit

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// observeContext wraps the local context's mount so that OnContextFile
// sees the entries the daemon's first walk of it visits, less those the
// context's ignore file excludes (the filter filesync applies around the
// mount sees them first, and says nothing of what it drops). What is sent
// does not change.
func (o *options) observeContext(so *client.SolveOpt, dir string) error {
	if o.OnContextFile == nil || o.contextSeen == nil {
		return nil
	}
	var excludes []string
	if f, err := os.Open(ignoreFile(dir, o.DockerfilePath)); err == nil {
		excludes, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return err
	}
	so.LocalMounts["context"] = &observedFS{FS: so.LocalMounts["context"], pm: pm, on: o.OnContextFile, seen: o.contextSeen}
	return nil
}

// ignoreFile is BuildKit's ignore file: <Dockerfile>.dockerignore beside
// the Dockerfile when there is one, else the context's .dockerignore.
func ignoreFile(dir, dockerfile string) string {
	df := dockerfile
	if df == "" {
		df = filepath.Join(dir, "Dockerfile")
	}
	if fi, err := os.Stat(df + ".dockerignore"); err == nil && fi.Mode().IsRegular() {
		return df + ".dockerignore"
	}
	return filepath.Join(dir, dockerignore.FileName)
}

type observedFS struct {
	fsutil.FS
	pm   *patternmatcher.PatternMatcher
	on   func(build.ContextFile)
	seen *atomic.Bool // a walk was observed already (another node's, say)
}

func (f *observedFS) Walk(ctx context.Context, target string, fn fs.WalkDirFunc) error {
	if target != "" || !f.seen.CompareAndSwap(false, true) {
		return f.FS.Walk(ctx, target, fn)
	}
	return f.FS.Walk(ctx, target, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e != nil {
			f.observe(p, e)
		}
		return fn(p, e, err)
	})
}

func (f *observedFS) observe(p string, e fs.DirEntry) {
	if m, _ := f.pm.MatchesOrParentMatches(p); m {
		return
	}
	fi, err := e.Info()
	if err != nil {
		return
	}
	cf := build.ContextFile{Path: filepath.ToSlash(p), Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*types.Stat); ok {
		cf.UID, cf.GID, cf.ModTime = st.Uid, st.Gid, time.Unix(0, st.ModTime)
	}
	f.on(cf)
}
