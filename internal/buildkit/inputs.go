package buildkit

import (
	"bufio"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dfgitutil"
	"github.com/moby/buildkit/session/upload/uploadprovider"
	"github.com/moby/buildkit/util/archiveutil"
	"github.com/moby/buildkit/util/gitutil"
	"github.com/pkg/errors"
	"github.com/tonistiigi/fsutil"
)

// archiveHeaderSize is a tar header; twice that is enough to tell a tar (or
// a compressed stream) from a Dockerfile on stdin.
const archiveHeaderSize = 512

// inputs says where the context and the Dockerfile come from, as buildx's
// loadInputs does: the local mounts, the frontend attributes naming them,
// and the temporary directories to remove afterwards.
type inputs struct {
	toRemove []string
	// mountDirs are the local mounts' directories, by mount name.
	mountDirs map[string]string
	// dockerfileSrc is the Dockerfile as the user named it (for --call
	// check's source lines).
	dockerfileSrc string
	// policy is the Dockerfile's own policy and where the --policy files
	// are found.
	policy policySet
	// finish, when set, ends what the build's policies hold (their step,
	// their resolver) before the display ends.
	finish func()
}

func (in *inputs) release() {
	for _, d := range in.toRemove {
		_ = os.RemoveAll(d)
	}
}

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// isRemoteURL: an http(s) URL or a git reference, as buildx's urlutil.
func isRemoteURL(s string) bool {
	if isHTTPURL(s) {
		return true
	}
	_, ok, _ := dfgitutil.ParseGitRef(s)
	return ok
}

func isLocalDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func (o *options) loadInputs(so *client.SolveOpt) (_ *inputs, err error) {
	in := &inputs{mountDirs: map[string]string{}}
	defer func() {
		if err != nil {
			in.release()
		}
	}()
	if o.ContextPath == "" {
		return nil, errors.New("please specify build context (e.g. \".\" for the current directory)")
	}
	var (
		dockerfileReader io.Reader
		dockerfileDir    string
		dockerfileName   = o.DockerfilePath
		caps             = map[string]struct{}{}
		contextPath      = o.ContextPath
		contextDir       string // a local context's directory, for policy files
		remote           bool
	)
	switch {
	case contextPath == "-":
		if o.DockerfilePath == "-" {
			return nil, errors.Errorf("invalid argument: can't use stdin for both build context and dockerfile")
		}
		br := bufio.NewReaderSize(o.Stdin, 2*archiveHeaderSize)
		magic, err := br.Peek(2 * archiveHeaderSize)
		if err != nil && err != io.EOF {
			return nil, errors.Wrap(err, "failed to peek context header from STDIN")
		}
		if err != io.EOF || len(magic) != 0 {
			if archiveutil.IsArchive(magic) {
				up := uploadprovider.New()
				so.FrontendAttrs["context"] = up.Add(io.NopCloser(br))
				so.Session = append(so.Session, up)
			} else {
				if o.DockerfilePath != "" {
					return nil, errors.Errorf("ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles")
				}
				dockerfileReader = br
				dir, err := os.MkdirTemp(o.Tempdir, "empty-dir")
				if err != nil {
					return nil, err
				}
				in.toRemove = append(in.toRemove, dir)
				contextPath, contextDir = dir, dir
				if err := in.mount("context", dir, so); err != nil {
					return nil, err
				}
			}
		}
	case isLocalDir(contextPath):
		if err := in.mount("context", contextPath, so); err != nil {
			return nil, err
		}
		contextDir = contextPath
		if err := o.observeContext(so, contextPath); err != nil {
			return nil, err
		}
		so.SharedKey = baseOfAbs(contextPath)
		switch o.DockerfilePath {
		case "-":
			dockerfileReader = o.Stdin
		case "":
			dockerfileDir = contextPath
		default:
			dockerfileDir = filepath.Dir(o.DockerfilePath)
			dockerfileName = filepath.Base(o.DockerfilePath)
		}
	case isRemoteURL(contextPath):
		remote = true
		if o.DockerfilePath == "-" {
			dockerfileReader = o.Stdin
		} else if filepath.IsAbs(o.DockerfilePath) {
			dockerfileDir = filepath.Dir(o.DockerfilePath)
			dockerfileName = filepath.Base(o.DockerfilePath)
			so.FrontendAttrs["dockerfilekey"] = "dockerfile"
		}
		so.FrontendAttrs["context"] = contextPath
		if err := gitQueryCaps(contextPath, "context", caps); err != nil {
			return nil, err
		}
	default:
		return nil, errors.Errorf("unable to prepare context: path %q not found", contextPath)
	}

	switch {
	case o.DockerfilePath == "-":
		in.dockerfileSrc = "stdin"
	case o.DockerfilePath == "":
		in.dockerfileSrc = filepath.Join(contextPath, "Dockerfile")
	default:
		in.dockerfileSrc = o.DockerfilePath
	}

	if dockerfileReader != nil {
		dir, err := writeTempDockerfile(o.Tempdir, dockerfileReader)
		if dir != "" {
			in.toRemove = append(in.toRemove, dir)
		}
		if err != nil {
			return nil, err
		}
		dockerfileDir, dockerfileName = dir, "Dockerfile"
		so.FrontendAttrs["dockerfilekey"] = "dockerfile"
	}
	if isHTTPURL(o.DockerfilePath) {
		return nil, errors.Errorf("a Dockerfile from a URL (-f %s) is not supported by mybuild: download it and pass the file", o.DockerfilePath)
	}
	if dockerfileName == "" {
		dockerfileName = "Dockerfile"
	}
	if dockerfileDir != "" {
		if err := in.mount("dockerfile", dockerfileDir, so); err != nil {
			return nil, err
		}
		dockerfileName = lowercaseDockerfile(dockerfileDir, dockerfileName)
	}
	var contextState *llb.State
	if remote {
		contextState = remoteContextState(contextPath, so)
	}
	pol, err := defaultPolicy(contextDir, contextState, dockerfileDir, dockerfileName)
	if err != nil {
		return nil, err
	}
	in.policy = pol
	so.FrontendAttrs["filename"] = dockerfileName

	if err := o.namedContextInputs(in, so, caps); err != nil {
		return nil, err
	}
	if len(caps) > 0 {
		so.FrontendAttrs["frontend.caps"] = strings.Join(slices.Sorted(maps.Keys(caps)), ",")
	}
	return in, nil
}

func (o *options) namedContextInputs(in *inputs, so *client.SolveOpt, caps map[string]struct{}) error {
	for _, k := range slices.Sorted(maps.Keys(o.namedContexts)) {
		v := o.namedContexts[k]
		caps["moby.buildkit.frontend.contexts+forward"] = struct{}{}
		if isRemoteURL(v) || strings.HasPrefix(v, "docker-image://") || strings.HasPrefix(v, "target:") {
			so.FrontendAttrs["context:"+k] = v
			_ = gitQueryCaps(v, "context:"+k, caps)
			continue
		}
		if ref, ok, err := parseOCILayout(v); ok {
			if err != nil {
				return err
			}
			if err := ociLayoutContext(k, v, ref, so); err != nil {
				return err
			}
			continue
		}
		st, err := os.Stat(v)
		if err != nil {
			return errors.Wrapf(err, "failed to get build context %v", k)
		}
		if !st.IsDir() {
			return errors.Wrapf(syscall.ENOTDIR, "failed to get build context path %v", "{"+v+" <nil>}")
		}
		local := k
		if k == "context" || k == "dockerfile" {
			local = "_" + k // the frontend's own names
		}
		if err := in.mount(local, v, so); err != nil {
			return err
		}
		so.FrontendAttrs["context:"+k] = "local:" + local
		so.FrontendAttrs["sharedkey:localdir:"+k] = baseOfAbs(v)
	}
	return nil
}

// gitQueryCaps: a git URL with a query string needs a frontend capability.
func gitQueryCaps(url, name string, caps map[string]struct{}) error {
	ref, err := gitutil.ParseURL(url)
	if err != nil {
		return err
	}
	if len(ref.Query) == 0 {
		return nil
	}
	c := "moby.buildkit.frontend.gitquerystring"
	if name != "context" {
		c += "+forward"
	}
	caps[c] = struct{}{}
	return nil
}

// baseOfAbs is the last element of p made absolute: the name part of the
// key BuildKit keeps a directory's last transfer under.
func baseOfAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return filepath.Base(a)
	}
	return filepath.Base(p)
}

func (in *inputs) mount(name, dir string, so *client.SolveOpt) error {
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return err
	}
	so.LocalMounts[name] = fs
	in.mountDirs[name] = dir
	return nil
}

func writeTempDockerfile(tmp string, r io.Reader) (string, error) {
	dir, err := os.MkdirTemp(tmp, "dockerfile")
	if err != nil {
		return "", err
	}
	f, err := os.Create(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		return dir, err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return dir, err
}

// lowercaseDockerfile picks "dockerfile" when the directory has no
// "Dockerfile" but that (moby/moby#10858).
func lowercaseDockerfile(dir, p string) string {
	if filepath.Base(p) != "Dockerfile" {
		return p
	}
	names, err := readDirNames(filepath.Dir(filepath.Join(dir, p)))
	if err != nil {
		return p
	}
	lower := false
	for _, n := range names {
		if n == "Dockerfile" {
			return p
		}
		if n == "dockerfile" {
			lower = true
		}
	}
	if lower {
		return filepath.Join(filepath.Dir(p), "dockerfile")
	}
	return p
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
