package remotecontext

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gitEnv isolates the test's own git commands from the user's config.
var gitEnv = []string{
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
	"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
	"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
}

func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not in PATH")
	}
}

// runGit runs git in dir and returns its trimmed stdout.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gitExecPath is git's helper directory ("git --exec-path").
func gitExecPath(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git --exec-path: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// fixture is a set of bare repositories served by git daemon.
type fixture struct {
	base string // --base-path
	url  string // git://127.0.0.1:<port>
}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
	fixtureErr  string
)

// gitFixture builds (once per test binary) the repositories:
//
//	repo.git    master: Dockerfile, file.txt, sub/Dockerfile, symlinks
//	            esc -> /etc, esc2 -> ../../../../../etc, up -> ..;
//	            tag v1 on it; branch dev adds dev.txt
//	mod.git     master: mod.txt
//	withsub.git master: Dockerfile and submodule "mod" -> git://…/mod.git
//	main.git    main only (its HEAD): Dockerfile, main.txt, sub/Dockerfile
//	devhead.git repo.git with HEAD -> dev
//
// and serves them with git daemon on a free 127.0.0.1 port, skipping the
// test when git daemon is unavailable.
func gitFixture(t *testing.T) *fixture {
	t.Helper()
	requireGit(t)
	fixtureOnce.Do(func() { fixtureVal, fixtureErr = buildFixture(t) })
	if fixtureErr != "" {
		t.Skip(fixtureErr)
	}
	return fixtureVal
}

// fixtureDir outlives the test that happens to build the fixture; it is
// removed by TestMain.
var fixtureDir string

func buildFixture(t *testing.T) (*fixture, string) {
	if _, err := os.Stat(filepath.Join(gitExecPath(t), "git-daemon")); err != nil {
		return nil, "git daemon is not available (no git-daemon in git --exec-path): " + err.Error()
	}
	dir, err := os.MkdirTemp("", "remotecontext-test-")
	if err != nil {
		t.Fatal(err)
	}
	fixtureDir = dir
	base := filepath.Join(dir, "base")
	port := freePort(t)
	f := &fixture{base: base, url: "git://127.0.0.1:" + strconv.Itoa(port)}

	work := filepath.Join(dir, "work")
	runGit(t, dir, "init", "-q", "-b", "master", work)
	writeFile(t, filepath.Join(work, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(work, "file.txt"), "hi\n")
	writeFile(t, filepath.Join(work, "sub", "Dockerfile"), "FROM scratch\nLABEL sub=1\n")
	for name, target := range map[string]string{"esc": "/etc", "esc2": "../../../../../etc", "up": ".."} {
		if err := os.Symlink(target, filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-q", "-m", "init")
	runGit(t, work, "tag", "v1")
	runGit(t, work, "checkout", "-q", "-b", "dev")
	writeFile(t, filepath.Join(work, "dev.txt"), "dev\n")
	runGit(t, work, "add", "-A")
	runGit(t, work, "commit", "-q", "-m", "dev")
	runGit(t, work, "checkout", "-q", "master")
	runGit(t, dir, "clone", "-q", "--bare", work, filepath.Join(base, "repo.git"))

	mod := filepath.Join(dir, "mod")
	runGit(t, dir, "init", "-q", "-b", "master", mod)
	writeFile(t, filepath.Join(mod, "mod.txt"), "module\n")
	runGit(t, mod, "add", "-A")
	runGit(t, mod, "commit", "-q", "-m", "mod")
	modHead := runGit(t, mod, "rev-parse", "HEAD")
	runGit(t, dir, "clone", "-q", "--bare", mod, filepath.Join(base, "mod.git"))

	ws := filepath.Join(dir, "withsub")
	runGit(t, dir, "init", "-q", "-b", "master", ws)
	writeFile(t, filepath.Join(ws, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(ws, ".gitmodules"), "[submodule \"mod\"]\n\tpath = mod\n\turl = "+f.url+"/mod.git\n")
	runGit(t, ws, "add", "-A")
	runGit(t, ws, "update-index", "--add", "--cacheinfo", "160000,"+modHead+",mod")
	runGit(t, ws, "commit", "-q", "-m", "with submodule")
	runGit(t, dir, "clone", "-q", "--bare", ws, filepath.Join(base, "withsub.git"))

	mainRepo := filepath.Join(dir, "main")
	runGit(t, dir, "init", "-q", "-b", "main", mainRepo)
	writeFile(t, filepath.Join(mainRepo, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(mainRepo, "main.txt"), "main\n")
	writeFile(t, filepath.Join(mainRepo, "sub", "Dockerfile"), "FROM scratch\n")
	runGit(t, mainRepo, "add", "-A")
	runGit(t, mainRepo, "commit", "-q", "-m", "main")
	runGit(t, dir, "clone", "-q", "--bare", mainRepo, filepath.Join(base, "main.git"))

	runGit(t, dir, "clone", "-q", "--bare", work, filepath.Join(base, "devhead.git"))
	runGit(t, filepath.Join(base, "devhead.git"), "symbolic-ref", "HEAD", "refs/heads/dev")

	// For the dumb-HTTP tests.
	runGit(t, filepath.Join(base, "repo.git"), "update-server-info")
	runGit(t, filepath.Join(base, "main.git"), "update-server-info")

	cmd := exec.Command("git", "daemon", "--reuseaddr", "--base-path="+base, "--export-all",
		"--port="+strconv.Itoa(port), "--listen=127.0.0.1", base)
	cmd.Env = append(os.Environ(), gitEnv...)
	// git runs git-daemon as its child: the group is killed, not git alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, "git daemon is not available: " + err.Error()
	}
	daemonCmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, "git daemon did not start listening: " + err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f, ""
}

var daemonCmd *exec.Cmd

func TestMain(m *testing.M) {
	code := m.Run()
	if daemonCmd != nil {
		_ = syscall.Kill(-daemonCmd.Process.Pid, syscall.SIGKILL)
		_ = daemonCmd.Wait()
	}
	if fixtureDir != "" {
		_ = os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func isShallow(t *testing.T, root string) bool {
	t.Helper()
	return runGit(t, root, "rev-parse", "--is-shallow-repository") == "true"
}

// cloneRoot is the temporary directory CloneGit made for dir.
func cloneRoot(t *testing.T, dir string) string {
	t.Helper()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if strings.HasPrefix(filepath.Base(d), "docker-build-git") {
			return d
		}
	}
	t.Fatalf("%s is not inside a docker-build-git directory", dir)
	return ""
}

func TestCloneGit(t *testing.T) {
	t.Parallel()
	f := gitFixture(t)
	tests := []struct {
		name     string
		repo     string // "repo.git" if empty
		fragment string
		subdir   string   // expected context dir relative to the checkout
		files    []string // must exist in the context dir
		absent   []string // must not exist in the context dir
		head     string   // expected "git rev-parse --abbrev-ref HEAD" in the root
	}{
		{name: "default master", files: []string{"Dockerfile", "file.txt", ".git"}, absent: []string{"dev.txt"}, head: "master"},
		{name: "branch", fragment: "#dev", files: []string{"dev.txt"}, head: "dev"},
		{name: "tag and subdir", fragment: "#v1:sub", subdir: "sub", files: []string{"Dockerfile"}, head: "HEAD"},
		{name: "subdir of master", fragment: "#:sub", subdir: "sub", files: []string{"Dockerfile"}, head: "master"},
		{name: "symlink to parent is clamped", fragment: "#master:up", files: []string{"file.txt"}, head: "master"},
		{name: "dotdot inside", fragment: "#master:sub/..", files: []string{"file.txt"}, head: "master"},
		// No master: the default branch, where docker fails (moby/moby#41914).
		{name: "no master: default branch", repo: "main.git", files: []string{"main.txt"}, head: "HEAD"},
		{name: "no master: subdir of the default branch", repo: "main.git", fragment: "#:sub", subdir: "sub", files: []string{"Dockerfile"}, head: "HEAD"},
		{name: "master wins over another default branch", repo: "devhead.git", files: []string{"file.txt"}, absent: []string{"dev.txt"}, head: "master"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := tt.repo
			if repo == "" {
				repo = "repo.git"
			}
			dir, cleanup, err := CloneGit(context.Background(), f.url+"/"+repo+tt.fragment)
			if err != nil {
				t.Fatal(err)
			}
			root := cloneRoot(t, dir)
			if want := filepath.Join(root, tt.subdir); dir != want {
				t.Errorf("dir = %s, want %s", dir, want)
			}
			for _, name := range tt.files {
				if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
					t.Error(err)
				}
			}
			for _, name := range tt.absent {
				if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
					t.Errorf("%s exists", name)
				}
			}
			if got := runGit(t, root, "rev-parse", "--abbrev-ref", "HEAD"); got != tt.head {
				t.Errorf("HEAD = %s, want %s", got, tt.head)
			}
			if !isShallow(t, root) {
				t.Error("git:// clone is not shallow")
			}
			cleanup()
			cleanup() // idempotent
			if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cleanup left %s: %v", root, err)
			}
		})
	}
}

func TestCloneGitErrors(t *testing.T) {
	t.Parallel()
	f := gitFixture(t)
	tmp := regexp.QuoteMeta(filepath.Clean(os.TempDir()))
	root := tmp + `/docker-build-git\d+`
	const prefix = `unable to 'git clone' to temporary context directory: `
	tests := []struct {
		repo string // repository and fragment
		want string // regexp of the whole message
	}{
		{"repo.git#nope", regexp.QuoteMeta(prefix + "error fetching: fatal: couldn't find remote ref nope\n: exit status 128")},
		{"repo.git#-x", regexp.QuoteMeta(prefix + "invalid refspec: -x")},
		{"repo.git#master:esc", regexp.QuoteMeta(prefix+"stat ") + root + regexp.QuoteMeta("/etc: no such file or directory")},
		{"repo.git#master:esc2", regexp.QuoteMeta(prefix+"stat ") + root + regexp.QuoteMeta("/etc: no such file or directory")},
		{"repo.git#master:nodir", regexp.QuoteMeta(prefix+"stat ") + root + regexp.QuoteMeta("/nodir: no such file or directory")},
		{"repo.git#master:file.txt", regexp.QuoteMeta(prefix+"error setting git context, not a directory: ") + root + "/file.txt"},
		// The default branch is taken only for a URL that names no ref.
		{"main.git#master", regexp.QuoteMeta(prefix + "error fetching: fatal: couldn't find remote ref master\n: exit status 128")},
		{"main.git#:nodir", regexp.QuoteMeta(prefix+"stat ") + root + regexp.QuoteMeta("/nodir: no such file or directory")},
		{"missing.git", regexp.QuoteMeta(prefix+"error fetching: fatal: remote error: ") + ".*" + regexp.QuoteMeta("\n: exit status 128")},
		{"repo.git#master:../x", regexp.QuoteMeta(prefix+`error setting git context, "../x" not within git root: evalSymlinksInScope: `) + tmp + "/x is not in " + root},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			t.Parallel()
			dir, cleanup, err := CloneGit(context.Background(), f.url+"/"+tt.repo)
			if err == nil {
				cleanup()
				t.Fatalf("no error, dir %s", dir)
			}
			if cleanup == nil {
				t.Error("cleanup is nil")
			}
			if !regexp.MustCompile(`^` + tt.want + `$`).MatchString(err.Error()) {
				t.Errorf("error:\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

// TestCloneGitFailureRemovesTempDir runs alone: it points TMPDIR at a
// directory of its own and checks that failed clones leave nothing there.
func TestCloneGitFailureRemovesTempDir(t *testing.T) {
	f := gitFixture(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, fragment := range []string{"#nope", "#master:esc", "#master:file.txt"} {
		if _, _, err := CloneGit(context.Background(), f.url+"/repo.git"+fragment); err == nil {
			t.Fatalf("%s: no error", fragment)
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Fatalf("%s left %v in TMPDIR", fragment, entries)
		}
	}
	dir, cleanup, err := CloneGit(context.Background(), f.url+"/repo.git#:sub")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, tmp+string(filepath.Separator)+"docker-build-git") {
		t.Errorf("dir %s not in TMPDIR %s", dir, tmp)
	}
	cleanup() // removes the checkout root, not only the subdir
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("cleanup left %v in TMPDIR", entries)
	}
}

func TestCloneGitSubmodule(t *testing.T) {
	t.Parallel()
	f := gitFixture(t)
	dir, cleanup, err := CloneGit(context.Background(), f.url+"/withsub.git")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	b, err := os.ReadFile(filepath.Join(dir, "mod", "mod.txt"))
	if err != nil || string(b) != "module\n" {
		t.Fatalf("submodule not initialised: %q, %v", b, err)
	}
}

func TestCloneGitNoGit(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, cleanup, err := CloneGit(context.Background(), "git://127.0.0.1:1/x.git")
	if cleanup == nil {
		t.Error("cleanup is nil")
	}
	const want = `unable to find 'git': exec: "git": executable file not found in $PATH`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

// TestCloneGitCancel: a git:// server that accepts and never answers keeps
// git fetch waiting; cancelling the context kills it, CloneGit returns an
// error matching context.Canceled and removes its directory, and no process
// is left working in it.
func TestCloneGitCancel(t *testing.T) {
	requireGit(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
		}
		cancel()
	}()
	start := time.Now()
	_, _, err = CloneGit(ctx, "git://"+l.Addr().String()+"/hang.git")
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %q does not match context.Canceled", err)
	}
	if !strings.HasPrefix(err.Error(), "unable to 'git clone' to temporary context directory: error fetching: ") {
		t.Errorf("error = %q", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("CloneGit took %v after cancellation", d)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left %v in TMPDIR", entries)
	}
	if runtime.GOOS == "linux" {
		procs, _ := filepath.Glob("/proc/[0-9]*/cwd")
		for _, p := range procs {
			if cwd, err := os.Readlink(p); err == nil && strings.HasPrefix(cwd, tmp) {
				t.Errorf("process %s still runs in %s", filepath.Base(filepath.Dir(p)), cwd)
			}
		}
	}
}

// TestCloneGitDumbHTTP: a plain file server is not a smart HTTP server, so
// docker's probe fails and the fetch is a full one.
func TestCloneGitDumbHTTP(t *testing.T) {
	t.Parallel()
	f := gitFixture(t)
	var mu sync.Mutex
	var probes []string
	fs := http.FileServer(http.Dir(f.base))
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			mu.Lock()
			probes = append(probes, r.Method+" "+r.URL.RequestURI())
			mu.Unlock()
		}
		fs.ServeHTTP(w, r)
	}))
	dir, cleanup, err := CloneGit(context.Background(), srv.URL+"/repo.git#dev:sub")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	root := filepath.Dir(dir)
	if _, err := os.Stat(filepath.Join(root, "dev.txt")); err != nil {
		t.Error(err)
	}
	if isShallow(t, root) {
		t.Error("dumb-HTTP clone is shallow; docker fetches without --depth")
	}
	mu.Lock()
	defer mu.Unlock()
	// docker's HEAD probe (200, text/plain: not smart), then git's own GET.
	want := "HEAD /repo.git/info/refs?service=git-upload-pack"
	if len(probes) == 0 || probes[0] != want {
		t.Errorf("requests with a query = %q, want %q first", probes, want)
	}
}

// TestCloneGitDumbHTTPDefaultBranch: without master, the remote's HEAD is
// fetched over dumb HTTP too.
func TestCloneGitDumbHTTPDefaultBranch(t *testing.T) {
	t.Parallel()
	f := gitFixture(t)
	srv := newServer(t, http.FileServer(http.Dir(f.base)))
	dir, cleanup, err := CloneGit(context.Background(), srv.URL+"/main.git")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if _, err := os.Stat(filepath.Join(dir, "main.txt")); err != nil {
		t.Error(err)
	}
}

// TestCloneGitSmartHTTP: git http-backend answers the probe with the
// upload-pack advertisement, so the fetch is shallow.
func TestCloneGitSmartHTTP(t *testing.T) {
	t.Parallel()
	f := gitFixture(t)
	backend := filepath.Join(gitExecPath(t), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("git http-backend not available: %v", err)
	}
	srv := newServer(t, &cgi.Handler{
		Path: backend,
		Env:  append([]string{"GIT_PROJECT_ROOT=" + f.base, "GIT_HTTP_EXPORT_ALL=1"}, gitEnv...),
	})
	dir, cleanup, err := CloneGit(context.Background(), srv.URL+"/repo.git")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if !isShallow(t, dir) {
		t.Error("smart-HTTP clone is not shallow")
	}
}

func TestSupportsShallowClone(t *testing.T) {
	t.Parallel()
	const adv = "application/x-git-upload-pack-advertisement"
	handler := func(headStatus int, getType string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/r.git/info/refs" || r.URL.RawQuery != "service=git-upload-pack" {
				http.NotFound(w, r)
				return
			}
			if r.Method == http.MethodHead {
				if headStatus == http.StatusOK {
					w.Header().Set("Content-Type", adv)
				}
				w.WriteHeader(headStatus)
				return
			}
			w.Header().Set("Content-Type", getType)
		})
	}
	tests := []struct {
		name string
		h    http.Handler
		want bool
	}{
		{"smart HEAD", handler(http.StatusOK, ""), true},
		{"HEAD refused, smart GET", handler(http.StatusMethodNotAllowed, adv), true},
		{"HEAD refused, dumb GET", handler(http.StatusMethodNotAllowed, "text/plain"), false},
		{"not found", http.NotFoundHandler(), false},
	}
	for _, tt := range tests {
		srv := newServer(t, tt.h)
		if got := supportsShallowClone(context.Background(), srv.URL+"/r.git"); got != tt.want {
			t.Errorf("%s: supportsShallowClone = %v, want %v", tt.name, got, tt.want)
		}
	}
	for _, remote := range []string{"git://127.0.0.1:1/r.git", "ssh://git@127.0.0.1/r.git", "git@127.0.0.1:r.git"} {
		if !supportsShallowClone(context.Background(), remote) {
			t.Errorf("supportsShallowClone(%s) = false", remote)
		}
	}
}
