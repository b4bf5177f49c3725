package buildkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	bkgitutil "github.com/moby/buildkit/util/gitutil"
	"github.com/moby/buildkit/util/urlutil"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// dockerfileLabel names the Dockerfile in the image labels (BUILDX_GIT_LABELS).
const dockerfileLabel = "com.docker.image.source.entrypoint"

// gitAttributes are the frontend attributes buildx records from the git
// checkout the context is in: the commit and remote (vcs:*, for
// provenance), labels when BUILDX_GIT_LABELS asks, and where each local
// mount lies in the checkout.
type gitAttributes struct {
	attrs map[string]string
	root  string
	info  bool
}

func (o *options) gitAttributes(ctx context.Context) (*gitAttributes, error) {
	if o.ContextPath == "" {
		return nil, nil
	}
	setLabels := false
	if v, ok := o.LookupEnv("BUILDX_GIT_LABELS"); ok {
		if v == "full" {
			setLabels = true
		} else if b, err := strconv.ParseBool(v); err == nil {
			setLabels = b
		}
	}
	setInfo := true
	if b, ok := boolEnv(o.LookupEnv("BUILDX_GIT_INFO")); ok {
		setInfo = b
	}
	if !setLabels && !setInfo {
		return nil, nil
	}
	wd := o.ContextPath
	if !filepath.IsAbs(wd) {
		cwd, _ := os.Getwd()
		wd, _ = filepath.Abs(filepath.Join(cwd, wd))
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		if st, err1 := os.Stat(filepath.Join(wd, ".git")); err1 == nil && st.IsDir() {
			return nil, errors.Wrap(err, "git was not found in the system")
		}
		return nil, nil
	}
	git := bkgitutil.NewGitCLI(bkgitutil.WithDir(wd), bkgitutil.WithHostGitConfig(),
		bkgitutil.WithGitBinary(gitBin), bkgitutil.WithArgs("-c", "log.showSignature=false"))
	run := func(args ...string) (string, error) {
		out, err := git.Run(ctx, args...)
		line := strings.ReplaceAll(strings.Split(string(out), "\n")[0], "'", "")
		if err != nil {
			err = errors.New(strings.TrimSuffix(err.Error(), "\n"))
		}
		return line, err
	}
	if out, err := run("rev-parse", "--is-inside-work-tree"); out != "true" || err != nil {
		if st, err := os.Stat(filepath.Join(wd, ".git")); err == nil && st.IsDir() {
			return nil, errors.New("failed to read current commit information with git rev-parse --is-inside-work-tree")
		}
		return nil, nil
	}
	root, err := git.WorkTree(ctx)
	if err != nil {
		return nil, errors.Wrap(err, "failed to get git root dir")
	}
	g := &gitAttributes{attrs: map[string]string{}, root: root, info: setInfo}
	if sha, err := run("show", "--format=%H", "HEAD", "--quiet", "--"); err != nil && !unknownRevision(err) {
		return nil, errors.Wrap(err, "failed to get git commit")
	} else if sha != "" {
		if b, _ := boolEnv(o.LookupEnv("BUILDX_GIT_CHECK_DIRTY")); b {
			if out, err := git.Run(ctx, "status", "--porcelain", "--ignored"); strings.TrimSpace(string(out)) != "" || err != nil {
				sha += "-dirty"
			}
		}
		if setLabels {
			g.attrs["label:"+ocispecs.AnnotationRevision] = sha
		}
		if setInfo {
			g.attrs["vcs:revision"] = sha
		}
	}
	if url := remoteURL(run); url != "" {
		if setLabels {
			g.attrs["label:"+ocispecs.AnnotationSource] = url
		}
		if setInfo {
			g.attrs["vcs:source"] = url
		}
	}
	if setLabels && root != "" {
		df := o.DockerfilePath
		if df == "" {
			df = filepath.Join(wd, "Dockerfile")
		}
		if !filepath.IsAbs(df) {
			cwd, _ := os.Getwd()
			df = filepath.Join(cwd, df)
		}
		if r, err := filepath.Rel(root, df); err == nil && !strings.HasPrefix(r, "..") {
			g.attrs["label:"+dockerfileLabel] = r
		}
	}
	return g, nil
}

func remoteURL(run func(...string) (string, error)) string {
	if symref, err := run("symbolic-ref", "-q", "HEAD"); err == nil && symref != "" {
		if remote, err := run("for-each-ref", "--format=%(upstream:remotename)", symref); err == nil && remote != "" {
			if u, err := run("remote", "get-url", remote); err == nil && u != "" {
				return urlutil.RedactCredentials(u)
			}
		}
	}
	for _, r := range []string{"origin", "upstream"} {
		if u, err := run("remote", "get-url", r); err == nil && u != "" {
			return urlutil.RedactCredentials(u)
		}
	}
	return ""
}

func unknownRevision(err error) bool {
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "unknown revision or path not in the working tree") || strings.Contains(m, "bad revision")
}

// apply adds the attributes, and each local mount's place in the checkout.
func (g *gitAttributes) apply(attrs map[string]string, mountDirs map[string]string) {
	if g == nil {
		return
	}
	for k, v := range g.attrs {
		attrs[k] = v
	}
	if !g.info || g.root == "" {
		return
	}
	for key, dir := range mountDirs {
		d, err := filepath.EvalSymlinks(dir)
		if err != nil {
			continue
		}
		if d, err = filepath.Abs(d); err != nil {
			continue
		}
		if r, err := filepath.Rel(g.root, d); err == nil && !strings.HasPrefix(r, "..") {
			attrs["vcs:localdir:"+key] = r
		}
	}
}
