package buildkit

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/buildx/policy"
	"github.com/docker/buildx/util/sourcemeta"
	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"
	"github.com/tonistiigi/fsutil/types"
)

// loadedPolicy is a policy set with its files read.
type loadedPolicy struct {
	set   policySet
	files []policy.File
	fs    func() (fs.StatFS, func() error, error)
}

// loadPolicies reads each set's files (an optional one may be missing);
// a set left without files is dropped.
func loadPolicies(ctx context.Context, sets []policySet, resolver *sourcemeta.Resolver) ([]loadedPolicy, error) {
	var out []loadedPolicy
	for _, set := range sets {
		l := loadedPolicy{set: set, fs: policyFS(ctx, resolver, set)}
		for _, f := range set.files {
			dt := f.data
			if dt == nil {
				var ok bool
				var err error
				if dt, ok, err = readPolicyFile(l.fs, f.name); err != nil {
					return nil, err
				}
				if !ok {
					if f.optional {
						continue
					}
					return nil, errors.Errorf("policy file %s not found", f.name)
				}
			}
			l.files = append(l.files, policy.File{Filename: f.name, Data: dt})
		}
		if len(l.files) > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// readPolicyFile reads name from the policy's file system; ok is false
// when it is not there.
func readPolicyFile(open func() (fs.StatFS, func() error, error), name string) (_ []byte, ok bool, _ error) {
	root, closeFS, err := open()
	if err != nil {
		return nil, false, errors.Wrapf(err, "failed to get policy FS for %s", name)
	}
	defer closeFS()
	if _, err := root.Stat(name); err != nil {
		if isMissingFile(err) {
			return nil, false, nil
		}
		return nil, false, errors.Wrapf(err, "failed to stat policy file %s", name)
	}
	dt, err := fs.ReadFile(root, name)
	if err != nil {
		if isMissingFile(err) {
			return nil, false, nil
		}
		return nil, false, errors.Wrapf(err, "failed to read policy file %s", name)
	}
	return dt, true, nil
}

// isMissingFile: a missing file, locally or as the builder says it.
func isMissingFile(err error) bool {
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "not found") || strings.Contains(msg, "no such file")
}

// policyFS opens the files a policy names: "cwd://name" in the current
// directory, other names in the context (a local directory, whose
// absolute paths are taken relative to it, or a remote context read
// through the builder). Local directories are opened as roots: a name
// cannot climb out of them.
func policyFS(ctx context.Context, resolver *sourcemeta.Resolver, set policySet) func() (fs.StatFS, func() error, error) {
	var remote *remotePolicyFS
	if set.contextState != nil {
		remote = &remotePolicyFS{ctx: context.WithoutCancel(ctx), resolver: resolver, state: *set.contextState}
	}
	return func() (fs.StatFS, func() error, error) {
		r := &policyRoots{contextDir: set.contextDir, remote: remote}
		return r, r.close, nil
	}
}

// policyRoots is one opening of a policy's file system.
type policyRoots struct {
	contextDir string
	remote     *remotePolicyFS

	mu    sync.Mutex
	roots map[string]*os.Root // by directory: "." or the context's
}

func (r *policyRoots) Open(name string) (fs.File, error) {
	backend, target, err := r.resolve(name)
	if err != nil {
		return nil, err
	}
	return backend.Open(target)
}

func (r *policyRoots) Stat(name string) (fs.FileInfo, error) {
	backend, target, err := r.resolve(name)
	if err != nil {
		return nil, err
	}
	return backend.Stat(target)
}

func (r *policyRoots) resolve(name string) (fs.StatFS, string, error) {
	if name == "" {
		return nil, "", errors.New("policy filename is empty")
	}
	if v, ok := strings.CutPrefix(name, "cwd://"); ok {
		if v == "" {
			return nil, "", errors.Errorf("invalid policy filename %q", name)
		}
		root, err := r.root(".")
		if err != nil {
			return nil, "", err
		}
		return root, path.Clean(filepath.ToSlash(v)), nil
	}
	if r.remote != nil {
		target, err := remotePolicyPath(name)
		if err != nil {
			return nil, "", err
		}
		return r.remote, target, nil
	}
	if r.contextDir == "" {
		return emptyFS{}, name, nil
	}
	root, err := r.root(r.contextDir)
	if err != nil {
		return nil, "", err
	}
	if filepath.IsAbs(name) {
		if rel, err := filepath.Rel(r.contextDir, name); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			name = rel
		}
	}
	return root, path.Clean(filepath.ToSlash(name)), nil
}

func (r *policyRoots) root(dir string) (fs.StatFS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	root, ok := r.roots[dir]
	if !ok {
		var err error
		if root, err = os.OpenRoot(dir); err != nil {
			return nil, err
		}
		if r.roots == nil {
			r.roots = map[string]*os.Root{}
		}
		r.roots[dir] = root
	}
	return root.FS().(fs.StatFS), nil
}

func (r *policyRoots) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first error
	for _, root := range r.roots {
		if err := root.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.roots = nil
	return first
}

// emptyFS has no files: a policy name with no context to look in.
type emptyFS struct{}

func (emptyFS) Open(string) (fs.File, error)     { return nil, fs.ErrNotExist }
func (emptyFS) Stat(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist }

func remotePolicyPath(raw string) (string, error) {
	clean := strings.TrimPrefix(path.Join("/", filepath.ToSlash(raw)), "/")
	if clean == "" || clean == "." {
		return "", errors.Errorf("invalid remote policy filename %q", raw)
	}
	return clean, nil
}

// remotePolicyFS reads files of a remote context, which the builder
// loads once (a gateway solve of its state).
type remotePolicyFS struct {
	ctx      context.Context
	resolver *sourcemeta.Resolver
	state    llb.State

	once sync.Once
	ref  gwclient.Reference
	err  error
}

func (r *remotePolicyFS) reference() (gwclient.Reference, error) {
	r.once.Do(func() { r.ref, r.err = r.resolver.ResolveState(r.ctx, r.state) })
	return r.ref, r.err
}

func (r *remotePolicyFS) Stat(name string) (fs.FileInfo, error) {
	ref, err := r.reference()
	if err != nil {
		return nil, err
	}
	st, err := ref.StatFile(r.ctx, gwclient.StatRequest{Path: name})
	if err != nil {
		return nil, err
	}
	return remoteFileInfo{name: path.Base(name), size: st.Size, mode: fs.FileMode(st.Mode), mtime: time.Unix(0, st.ModTime)}, nil
}

func (r *remotePolicyFS) Open(name string) (fs.File, error) {
	fi, err := r.Stat(name)
	if err != nil {
		return nil, err
	}
	dt, err := r.ref.ReadFile(r.ctx, gwclient.ReadRequest{Filename: name})
	if err != nil {
		return nil, err
	}
	info := fi.(remoteFileInfo)
	info.size = int64(len(dt))
	return &remoteFile{Reader: bytes.NewReader(dt), info: info}, nil
}

type remoteFile struct {
	*bytes.Reader
	info remoteFileInfo
}

func (f *remoteFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *remoteFile) Close() error               { return nil }

type remoteFileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (i remoteFileInfo) Name() string       { return i.name }
func (i remoteFileInfo) Size() int64        { return i.size }
func (i remoteFileInfo) Mode() fs.FileMode  { return i.mode }
func (i remoteFileInfo) ModTime() time.Time { return i.mtime }
func (i remoteFileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i remoteFileInfo) Sys() any {
	return &types.Stat{Mode: uint32(i.mode), Size: i.size, ModTime: i.mtime.UnixNano()}
}
