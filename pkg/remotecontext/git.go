package remotecontext

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// gitRepo is a Git context reference split into its parts.
type gitRepo struct {
	remote string // what is given to "git remote add origin"
	ref    string // what is fetched and checked out
	subdir string // context directory inside the checkout, "" for the root
	// defaultRef: the URL named no ref, so ref is docker's default "master".
	defaultRef bool
}

// parseGitURL normalises a Git context reference as docker does: anything
// that is not "git@…" or a git/http/https/ssh URL gets "https://" prefixed;
// the fragment "#<ref>:<subdir>" is split off (ref "master" when empty); a
// ref starting with "-" is refused.
func parseGitURL(s string) (gitRepo, error) {
	if !isGitTransport(s) {
		s = "https://" + s
	}
	var repo gitRepo
	var fragment string
	if strings.HasPrefix(s, "git@") {
		// scp-like syntax, not a URL.
		repo.remote, fragment, _ = strings.Cut(s, "#")
	} else {
		u, err := url.Parse(s)
		if err != nil {
			return gitRepo{}, err
		}
		fragment = u.Fragment
		u.Fragment = ""
		u.RawFragment = ""
		repo.remote = u.String()
	}
	ref, subdir, _ := strings.Cut(fragment, ":")
	if ref == "" {
		ref, repo.defaultRef = "master", true
	}
	repo.ref, repo.subdir = ref, subdir
	if strings.HasPrefix(repo.ref, "-") {
		return gitRepo{}, fmt.Errorf("invalid refspec: %s", repo.ref)
	}
	return repo, nil
}

// cloneErrPrefix is what docker puts before every clone error.
const cloneErrPrefix = "unable to 'git clone' to temporary context directory: "

// gitWaitDelay bounds how long a killed git may keep its output pipes open
// (through helpers it started) before CloneGit gives up waiting for them.
const gitWaitDelay = 2 * time.Second

// CloneGit fetches a Git context the way the docker CLI does and returns the
// directory to use as a local build context: the checkout root, or the
// subdirectory named in the URL fragment "#<ref>:<subdir>" (resolved inside
// the checkout; symlinks cannot leave it).
//
// The algorithm is docker's: git must be in PATH; the URL is normalised
// ("https://" prefixed unless it is "git@…" or a git/http/https/ssh URL);
// ref defaults to "master"; a temporary directory is made with
// os.MkdirTemp("", "docker-build-git") and in it, with
// GIT_PROTOCOL_FROM_USER=0 and "-c protocol.file.allow=never":
// "git init", "git remote add origin <url>", "git fetch [--depth 1] origin --
// <ref>" (shallow unless the remote is http(s) and not a smart HTTP server),
// "git checkout <ref>" falling back to "git checkout FETCH_HEAD", and
// "git submodule update --init --recursive --depth=1".
//
// One difference: when the URL names no ref and the remote has no
// "master", the remote's default branch (its HEAD) is fetched instead of
// failing as docker does (moby/moby#41914). A remote that has a "master"
// gets it, as with docker, whatever its default branch.
//
// cleanup removes the whole temporary directory (also when dir is a
// subdirectory of it); it is never nil and may be called more than once.
// When CloneGit fails it has already removed the directory. Git runs under
// ctx: cancelling it kills the running git command, and the error then
// matches ctx.Err() with errors.Is.
//
// Errors read as docker's after its "unable to prepare context: " prefix,
// e.g. "unable to 'git clone' to temporary context directory: error
// fetching: fatal: couldn't find remote ref nope\n: exit status 128".
func CloneGit(ctx context.Context, remoteURL string) (dir string, cleanup func(), err error) {
	noop := func() {}
	if _, err := exec.LookPath("git"); err != nil {
		return "", noop, fmt.Errorf("unable to find 'git': %w", err)
	}
	repo, err := parseGitURL(remoteURL)
	if err != nil {
		return "", noop, cloneError(ctx, err)
	}
	root, err := os.MkdirTemp("", "docker-build-git")
	if err != nil {
		return "", noop, cloneError(ctx, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(root)
		}
	}()
	dir, err = repo.clone(ctx, root)
	if err != nil {
		return "", noop, cloneError(ctx, err)
	}
	return dir, func() { _ = os.RemoveAll(root) }, nil
}

// cloneError adds docker's prefix; after a cancellation the error also
// matches ctx.Err().
func cloneError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return &cancelledError{msg: cloneErrPrefix + err.Error(), ctxErr: cerr}
	}
	return fmt.Errorf("%s%w", cloneErrPrefix, err)
}

type cancelledError struct {
	msg    string
	ctxErr error
}

func (e *cancelledError) Error() string { return e.msg }
func (e *cancelledError) Unwrap() error { return e.ctxErr }

// outputError is docker's errors.Wrapf(err, "<what>: %s", output) text.
func outputError(what string, out []byte, err error) error {
	return fmt.Errorf("%s: %s: %w", what, out, err)
}

func (repo gitRepo) clone(ctx context.Context, root string) (string, error) {
	fetch := []string{"fetch"}
	if supportsShallowClone(ctx, repo.remote) {
		fetch = append(fetch, "--depth", "1")
	}
	fetch = append(fetch, "origin", "--", repo.ref)

	if out, err := gitIn(ctx, root, "init"); err != nil {
		return "", outputError("failed to init repo at "+root, out, err)
	}
	if out, err := gitIn(ctx, root, "remote", "add", "origin", repo.remote); err != nil {
		return "", outputError("failed add origin repo at "+repo.remote, out, err)
	}
	checkout := repo.ref
	if out, err := gitIn(ctx, root, fetch...); err != nil {
		if !repo.defaultRef || !bytes.Contains(out, []byte("couldn't find remote ref")) {
			return "", outputError("error fetching", out, err)
		}
		fetch[len(fetch)-1] = "HEAD"
		if _, err2 := gitIn(ctx, root, fetch...); err2 != nil {
			return "", outputError("error fetching", out, err)
		}
		checkout = "FETCH_HEAD"
	}
	if out, err := gitIn(ctx, root, "checkout", checkout); err != nil {
		if _, err2 := gitIn(ctx, root, "checkout", "FETCH_HEAD"); err2 != nil {
			return "", outputError("error checking out "+repo.ref, out, err)
		}
	}
	dir := root
	if repo.subdir != "" {
		p, err := followSymlinkInScope(filepath.Join(root, repo.subdir), root)
		if err != nil {
			return "", fmt.Errorf("error setting git context, %q not within git root: %w", repo.subdir, err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("error setting git context, not a directory: %s", p)
		}
		dir = p
	}
	// docker v28 runs this one as plain "git submodule update …" without the
	// protocol restrictions; they are kept here on purpose (they only refuse
	// local-file submodules, which git >= 2.38.1 refuses anyway).
	if out, err := gitIn(ctx, root, "submodule", "update", "--init", "--recursive", "--depth=1"); err != nil {
		return "", outputError("error initializing submodules", out, err)
	}
	return dir, nil
}

// gitIn runs "git -c protocol.file.allow=never <args>" in dir with
// GIT_PROTOCOL_FROM_USER=0 added to the environment and returns its combined
// output; cancelling ctx kills it.
func gitIn(ctx context.Context, dir string, args ...string) ([]byte, error) {
	args = append([]string{"-c", "protocol.file.allow=never"}, args...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_PROTOCOL_FROM_USER=0")
	cmd.WaitDelay = gitWaitDelay
	return cmd.CombinedOutput()
}

// supportsShallowClone reports whether "--depth 1" can be used: always for
// non-HTTP remotes; for http(s) only when the server speaks the smart
// protocol, i.e. <remote>/info/refs?service=git-upload-pack answers 200
// with Content-Type application/x-git-upload-pack-advertisement to a HEAD
// (or, when the HEAD fails or is not 200, to a GET).
func supportsShallowClone(ctx context.Context, remote string) bool {
	if s := urlScheme(remote); s != "http" && s != "https" {
		return true
	}
	service := remote + "/info/refs?service=git-upload-pack"
	res, err := probe(ctx, http.MethodHead, service)
	if err != nil || res.StatusCode != http.StatusOK {
		res, err = probe(ctx, http.MethodGet, service)
		if err != nil || res.StatusCode != http.StatusOK {
			return false
		}
	}
	return res.Header.Get("Content-Type") == "application/x-git-upload-pack-advertisement"
}

func probe(ctx context.Context, method, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	_ = res.Body.Close()
	return res, nil
}

// maxScopeSteps bounds the path components (symlink targets included)
// followSymlinkInScope walks, as moby/sys/symlink does.
const maxScopeSteps = 255

// followSymlinkInScope resolves path, which must lie lexically under root,
// following symlinks as if root were "/": absolute targets and ".." are
// clamped to root, so the result never leaves it. Missing components are
// accepted as they are. Error texts follow moby/sys/symlink.
func followSymlinkInScope(path, root string) (string, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if root, err = filepath.Abs(root); err != nil {
		return "", err
	}
	if path == root {
		return path, nil
	}
	if !strings.HasPrefix(path, root) {
		return "", errors.New("evalSymlinksInScope: " + path + " is not in " + root)
	}
	rest := path[len(root):]
	if root == string(filepath.Separator) {
		rest = string(filepath.Separator) + rest
	}
	if !strings.HasPrefix(rest, string(filepath.Separator)) {
		return "", errors.New("evalSymlinksInScope: " + rest + " is not in " + root)
	}
	pending := filepath.Clean(rest)
	resolved := string(filepath.Separator) // the result so far, relative to root
	for steps := 0; pending != ""; steps++ {
		if steps > maxScopeSteps {
			return "", errors.New("evalSymlinksInScope: too many links in " + path)
		}
		var name string
		name, pending, _ = strings.Cut(pending, string(filepath.Separator))
		if name == "" {
			continue
		}
		next := filepath.Join(resolved, name) // Join cleans: ".." stops at "/"
		if next == string(filepath.Separator) {
			resolved = next
			continue
		}
		full := filepath.Join(root, next)
		fi, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			resolved = next
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		target, err := os.Readlink(full)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			resolved = string(filepath.Separator)
		}
		pending = target + string(filepath.Separator) + pending
	}
	return filepath.Join(root, resolved), nil
}
