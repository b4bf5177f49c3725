//go:build linux

package differential

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"github.com/mybuild/mybuild/internal/testbed"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// mtime is the modification time of every node of a context (with
// nanoseconds, which the tar must drop).
var mtime = time.Date(2023, 1, 2, 3, 4, 5, 123456789, time.UTC)

type kind int

const (
	regular kind = iota
	directory
	symlink
	hardlink
	fifo
	socket
)

// node is one thing in a test tree; path is relative to the tree's root.
type node struct {
	kind    kind
	path    string
	content string
	mode    os.FileMode // permission and setuid/setgid/sticky bits, when chmod is set
	chmod   bool        // mode is set (else 0644, 0755 for directories)
	target  string      // symlink target, or the path a hard link points to
}

func file(path, content string) node { return node{path: path, content: content} }
func fileMode(path, content string, mode os.FileMode) node {
	return node{path: path, content: content, mode: mode, chmod: true}
}
func dir(path string) node { return node{kind: directory, path: path} }
func dirMode(path string, m os.FileMode) node {
	return node{kind: directory, path: path, mode: m, chmod: true}
}
func link(path, target string) node { return node{kind: symlink, path: path, target: target} }
func hard(path, target string) node { return node{kind: hardlink, path: path, target: target} }
func pipe(path string) node         { return node{kind: fifo, path: path} }
func sock(path string) node         { return node{kind: socket, path: path} }

// dockerfile is the Dockerfile most cases use.
const dockerfile = "FROM scratch\nLABEL org.example.differential=1\n"

// makeTree creates nodes under root, then sets every mtime (deepest first,
// so creating children does not move a directory's mtime again).
func makeTree(t *testing.T, root string, nodes []node) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, n := range nodes {
		p := filepath.Join(root, n.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch n.kind {
		case regular:
			err = os.WriteFile(p, []byte(n.content), 0o644)
		case directory:
			err = os.MkdirAll(p, 0o755)
		case symlink:
			err = os.Symlink(n.target, p)
		case hardlink:
			err = os.Link(filepath.Join(root, n.target), p)
		case fifo:
			err = syscall.Mkfifo(p, 0o644)
		case socket:
			var ln net.Listener
			ln, err = net.Listen("unix", p)
			if err == nil {
				l := ln.(*net.UnixListener)
				l.SetUnlinkOnClose(false)
				t.Cleanup(func() { _ = l.Close() })
			}
		}
		if err != nil {
			t.Fatalf("make %s: %v", n.path, err)
		}
		if n.chmod && n.kind != symlink && n.kind != directory {
			if err := os.Chmod(p, n.mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer chmodDirs(t, root, nodes) // after the mtimes: a closed directory cannot be walked
	err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		if err := lutimes(p, mtime); err != nil {
			t.Fatalf("set mtime of %s: %v", p, err)
		}
	}
}

// lutimes sets atime and mtime of p without following a symlink, for any
// time the filesystem takes (ext4: 1901-12-13 … 2446-05-10).
func lutimes(p string, tm time.Time) error {
	ts := unix.Timespec{Sec: tm.Unix(), Nsec: int64(tm.Nanosecond())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// result is what one client did.
type result struct {
	Code   int
	Stdout string
	Stderr string
	Calls  []enginetest.Call
	Builds []enginetest.Request
	// Files are the files listed in the case's files field after the run
	// (nil for a missing file).
	Files map[string]*string
}

// env is one run's environment, shared by both clients of a case.
type env struct {
	root    string // holds w/ (the work dir), home/, bin/ and the daemon socket
	network string // the daemon's: "unix" or "tcp"
	addr    string // socket path or host:port
	config  string // DOCKER_CONFIG
	// tcp, for a tcp daemon, is its listener, kept open for both clients
	// so that no other process can take the port between the two runs.
	tcp *net.TCPListener
	url string // a web server with remote contexts (see remoteContexts)
}

// host is the daemon as -H and DOCKER_HOST take it.
func (e env) host() string { return e.network + "://" + e.addr }

// client is how to start one of the two programs.
type client struct {
	name string
	path string
	// build is the argument that selects the build command ("build" for
	// docker, none for mybuild).
	build []string
}

func clients() [2]client {
	return [2]client{
		{name: "docker", path: dockerPath, build: []string{"build"}},
		{name: "mybuild", path: mybuildPath},
	}
}

// placeholders replaces @ROOT@, @WORK@ and @HOST@ in s.
func (e env) expand(s string) string {
	return strings.NewReplacer(
		"@ROOT@", e.root,
		"@WORK@", filepath.Join(e.root, "w"),
		"@HOST@", e.host(),
		"@URL@", e.url,
	).Replace(s)
}

// runClient runs c for tc against a fresh daemon made from tc's options,
// with a fresh config directory.
func runClient(t *testing.T, tc testCase, e env, c client) result {
	t.Helper()
	// Fresh config dir and HOME for each client.
	home := filepath.Join(e.root, "home")
	if err := os.RemoveAll(home); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.config, 0o700); err != nil {
		t.Fatal(err)
	}
	if tc.config != "" {
		if err := os.WriteFile(filepath.Join(e.config, "config.json"), []byte(e.expand(tc.config)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range tc.files {
		if err := os.Remove(filepath.Join(e.root, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}

	d := enginetest.New(append([]enginetest.Option{enginetest.WithEntryContent(4096)}, tc.daemon...)...)
	var stop func()
	var err error
	if e.tcp != nil {
		if err = d.Err(); err == nil {
			stop = d.Serve(reuse(e.tcp))
		}
	} else {
		stop, err = d.Start(e.network, e.addr)
	}
	if err != nil {
		t.Fatalf("start fake daemon: %v", err)
	}
	defer stop()

	for _, c := range tc.contexts {
		args := []string{"context", "create"}
		for _, a := range c {
			args = append(args, e.expand(a))
		}
		cmd := exec.Command(dockerPath, args...)
		cmd.Env = []string{"HOME=" + home, "DOCKER_CONFIG=" + e.config, "PATH=/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	var args []string
	if !tc.hostEnv && !tc.noHost {
		args = append(args, "-H", e.host())
	}
	for _, a := range tc.global {
		args = append(args, e.expand(a))
	}
	args = append(args, c.build...)
	for _, a := range tc.args {
		args = append(args, e.expand(a))
	}
	if !tc.noPath {
		p := tc.path
		if p == "" {
			p = "."
		}
		args = append(args, e.expand(p))
	}

	cmd := testbed.Cmd{Bin: c.path, Args: args, Dir: filepath.Join(e.root, "w", tc.cwd), Stdin: tc.stdin, Timeout: 60 * time.Second}
	cmd.Env = []string{
		"PATH=" + filepath.Join(e.root, "bin") + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home,
		"DOCKER_CONFIG=" + e.config,
		"DOCKER_BUILDKIT=0",
	}
	if tc.hostEnv {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+e.host())
	}
	for _, v := range tc.env {
		cmd.Env = append(cmd.Env, e.expand(v))
	}
	runAsNobody(t, tc, e, &cmd)
	res, err := testbed.Run(cmd)
	if err != nil {
		t.Fatalf("run %s: %v", c.name, err)
	}
	d.Wait()

	r := result{
		Code:   res.Code,
		Stdout: res.Stdout,
		Stderr: res.Stderr,
		Calls:  d.Calls(),
		Builds: d.Requests(),
	}
	for _, f := range tc.files {
		if r.Files == nil {
			r.Files = map[string]*string{}
		}
		b, err := os.ReadFile(filepath.Join(e.root, f))
		if err == nil {
			s := string(b)
			r.Files[f] = &s
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return r
}

// bannerLines is docker's deprecation warning with DOCKER_BUILDKIT=0
// (mybuild deliberately does not print it).
const banner = "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n" +
	"            BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0\n" +
	"            environment-variable.\n\n"

// reusedListener lends a listener to one fake daemon: its Close only stops
// that daemon's Accept (through a deadline), leaving the socket open for
// the next one.
type reusedListener struct {
	*net.TCPListener
	closed atomic.Bool
}

func reuse(ln *net.TCPListener) *reusedListener {
	_ = ln.SetDeadline(time.Time{})
	return &reusedListener{TCPListener: ln}
}

func (l *reusedListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	if l.closed.Load() {
		if c != nil {
			c.Close()
		}
		return nil, net.ErrClosed
	}
	return c, err
}

func (l *reusedListener) Close() error {
	l.closed.Store(true)
	return l.TCPListener.SetDeadline(time.Now())
}

// writeBin installs an executable script in <root>/bin, first on PATH.
func writeBin(t *testing.T, root, name, script string) {
	t.Helper()
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// runCase builds tc's tree once, runs both clients on it and compares.
func runCase(t *testing.T, tc testCase, url string) {
	t.Helper()
	requireClients(t)
	if tc.skip != "" {
		t.Skip(tc.skip)
	}
	// A short root: socket paths (the daemon's, and sockets in contexts)
	// must stay under the 108-byte limit.
	root, err := os.MkdirTemp("", "diff")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	e := env{root: root, network: "unix", addr: filepath.Join(root, "d.sock"), config: filepath.Join(root, "home", ".docker"), url: url}
	if tc.tcp {
		// Both daemons listen on the same port in turn, so that both
		// clients see the same host string.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		e.network, e.addr, e.tcp = "tcp", ln.Addr().String(), ln.(*net.TCPListener)
	}

	work := filepath.Join(root, "w")
	ctxNodes := make([]node, 0, len(tc.tree)+len(tc.outside))
	for _, n := range tc.tree {
		n.path = filepath.Join("ctx", n.path)
		if n.kind == hardlink {
			n.target = filepath.Join("ctx", n.target)
		}
		ctxNodes = append(ctxNodes, n)
	}
	if len(tc.tree) == 0 && !tc.noContext {
		ctxNodes = append(ctxNodes, dir("ctx"))
	}
	makeTree(t, work, append(ctxNodes, tc.outside...))
	if tc.cwd == "" {
		tc.cwd = "ctx"
	}
	if tc.fakeSSH {
		writeBin(t, root, "ssh", "#!/bin/sh\nprintf '%s\\n' \"$@\" >"+filepath.Join(root, "ssh-args")+
			"\nexec socat - UNIX-CONNECT:"+e.addr+"\n")
	}
	if tc.helper != "" {
		writeBin(t, root, "docker-credential-test", tc.helper)
	}

	var got [2]result
	for i, c := range clients() {
		got[i] = runClient(t, tc, e, c)
	}
	docker, mybuild := got[0], got[1]
	if tc.hint != "" {
		mybuild.Stderr = cutHint(t, mybuild.Stderr, e.expand(tc.hint))
	}

	// The banner comes first, after config warnings.
	if !tc.noBanner && !strings.Contains(docker.Stderr, banner) {
		t.Errorf("harness: docker's stderr has no DEPRECATED banner:\n%s", docker.Stderr)
	}
	docker.Stderr = strings.Replace(docker.Stderr, banner, "", 1)
	for _, n := range tc.normalize {
		n.fn(t, &docker, e)
		n.fn(t, &mybuild, e)
	}
	for _, chk := range tc.check {
		chk(t, docker)
	}
	if tc.differs != nil {
		tc.differs(t, docker, mybuild)
	} else {
		compare(t, docker, mybuild)
	}
	if t.Failed() {
		t.Logf("docker (banner removed, normalised): exit %d\n--- stdout\n%s--- stderr\n%s", docker.Code, docker.Stdout, docker.Stderr)
		t.Logf("mybuild (normalised): exit %d\n--- stdout\n%s--- stderr\n%s", mybuild.Code, mybuild.Stdout, mybuild.Stderr)
	}
}

// cutHint removes the hint line that must end mybuild's stderr.
func cutHint(t *testing.T, stderr, hint string) string {
	t.Helper()
	line := "hint: " + hint + "\n"
	if !strings.HasSuffix(stderr, line) {
		t.Errorf("mybuild's stderr does not end with the line %q", line)
	}
	return strings.TrimSuffix(stderr, line)
}

// compare reports each part that differs, with a (-docker +mybuild) diff.
func compare(t *testing.T, docker, mybuild result) {
	t.Helper()
	for _, p := range comparedParts(docker, mybuild) {
		if diff := cmp.Diff(p.d, p.m, compareOptions); diff != "" {
			t.Errorf("%s differ (-docker +mybuild):\n%s", p.name, diff)
		}
	}
}

var compareOptions = cmp.Options{cmpopts.EquateEmpty()}

// part is one thing both clients must have done alike.
type part struct {
	name string
	d, m any
}

// comparedParts are what compare compares.
func comparedParts(docker, mybuild result) []part {
	// A /build call's headers are compared with its request.
	noBuild := len(docker.Builds) == 0 && len(mybuild.Builds) == 0
	calls := func(cs []enginetest.Call) []enginetest.Call {
		// docker pings before it parses build flags; mybuild does not
		// contact the daemon for an invocation it rejects (README).
		if noBuild && onlyPings(docker.Calls) && onlyPings(mybuild.Calls) {
			return nil
		}
		out := make([]enginetest.Call, len(cs))
		for i, c := range cs {
			if c.Method == "POST" {
				c.Header = nil
			}
			out[i] = c
		}
		return out
	}
	return []part{
		{"exit code", docker.Code, mybuild.Code},
		{"stdout", docker.Stdout, mybuild.Stdout},
		{"stderr", docker.Stderr, mybuild.Stderr},
		{"calls (method, path, query, host; headers of pings)", calls(docker.Calls), calls(mybuild.Calls)},
		{"/build requests (query, headers, body, tar entries)", docker.Builds, mybuild.Builds},
		{"files written", docker.Files, mybuild.Files},
	}
}

func onlyPings(cs []enginetest.Call) bool {
	for _, c := range cs {
		if c.Path != "/_ping" {
			return false
		}
	}
	return true
}

// normalizer rewrites a result where a difference is by design; each case
// lists the ones that apply to it.
type normalizer struct {
	name string
	fn   func(t *testing.T, r *result, e env)
}

var cliName = regexp.MustCompile(`(?m)^docker: `)

// usageName: docker names itself "docker build" in usage errors, mybuild
// "mybuild".
var usageName = normalizer{"program name", func(_ *testing.T, r *result, _ env) {
	for _, p := range []*string{&r.Stdout, &r.Stderr} {
		*p = cliName.ReplaceAllString(strings.ReplaceAll(*p, "docker build", "mybuild"), "mybuild: ")
	}
}}

var sendingSize = regexp.MustCompile(`(Sending build context to Docker daemon) +[0-9.]+[kMGT]?B`)

// anySize: the body size may differ (compressed or spliced tars), so the
// "Sending build context" count and the body digest are not compared.
var anySize = normalizer{"body size", func(_ *testing.T, r *result, _ env) {
	r.Stdout = sendingSize.ReplaceAllString(r.Stdout, "${1} <SIZE>")
	r.Stderr = sendingSize.ReplaceAllString(r.Stderr, "${1} <SIZE>")
	for i := range r.Builds {
		r.Builds[i].BodySize = 0
		r.Builds[i].BodySHA256 = ""
	}
}}

var randomDockerfile = regexp.MustCompile(`\.dockerfile\.[0-9a-f]{20}`)

// splicedDockerfile: with -f - or a Dockerfile outside the context, the
// client appends `.dockerfile.<random hex>` (mode 0600, mtime now) and names
// it in .dockerignore (appended to the original, or a new entry). The name,
// that entry's mtime, the order of the two appended entries (Go map order in
// docker) and docker's missing tar trailer are by design.
var splicedDockerfile = normalizer{"spliced Dockerfile", func(t *testing.T, r *result, _ env) {
	anySize.fn(t, r, env{})
	for i := range r.Calls {
		r.Calls[i].RawQuery = randomDockerfile.ReplaceAllString(r.Calls[i].RawQuery, ".dockerfile.<HEX>")
	}
	for i := range r.Builds {
		b := &r.Builds[i]
		b.RawQuery = randomDockerfile.ReplaceAllString(b.RawQuery, ".dockerfile.<HEX>")
		for k, vs := range b.Query {
			for j := range vs {
				b.Query[k][j] = randomDockerfile.ReplaceAllString(vs[j], ".dockerfile.<HEX>")
			}
		}
		if b.TarError == "truncated tar: missing end-of-archive marker" {
			b.TarError = ""
		}
		tail := 0
		for j := range b.Entries {
			en := &b.Entries[j]
			en.Name = randomDockerfile.ReplaceAllString(en.Name, ".dockerfile.<HEX>")
			if en.Name == ".dockerfile.<HEX>" {
				en.ModTime = time.Time{}
				tail = max(tail, len(b.Entries)-j)
			}
			if en.Name == ".dockerignore" {
				c := randomDockerfile.ReplaceAllString(string(en.Content), ".dockerfile.<HEX>")
				en.Content = []byte(c)
				en.SHA256 = ""
				if en.Mode == 0o600 && !en.ModTime.Equal(mtime.Truncate(time.Second)) {
					en.ModTime = time.Time{} // a new entry, made now
				}
				tail = max(tail, len(b.Entries)-j)
			}
		}
		// The appended entries come last, in random order.
		ap := b.Entries[len(b.Entries)-tail:]
		sort.Slice(ap, func(x, y int) bool { return ap[x].Name < ap[y].Name })
	}
}}

var tarNoise = regexp.MustCompile(`(?m)^time="[^"]*" level=error msg="Can't (add file|close tar writer)[^\n]*\n`)

// dockerTarNoise drops docker's logrus lines about files it could not add
// to the tar (for a daemon that cannot be reached they come from the
// abandoned tar goroutine, depending on timing).
var dockerTarNoise = normalizer{"docker's tar noise", func(_ *testing.T, r *result, _ env) {
	r.Stderr = tarNoise.ReplaceAllString(r.Stderr, "")
}}

var sendingLine = regexp.MustCompile(`(?m)^Sending build context to Docker daemon +[0-9.]+[kMGT]?B\r\r\n`)

// uploadCut: the line is printed when the context reaches its end, and
// whether it does before a reset is noticed depends on the socket buffers
// (over TCP a 4 MB context can fit), for docker as for mybuild.
var uploadCut = normalizer{"upload cut", func(_ *testing.T, r *result, _ env) {
	r.Stdout = sendingLine.ReplaceAllString(r.Stdout, "")
}}

var connectTail = regexp.MustCompile(`(?m)^(error during connect: Post "[^"]*"): .*$`)

// droppedConnection: which system call notices a connection the daemon
// dropped, and so the end of the message ("write: broken pipe", "write:
// connection reset by peer", "use of closed network connection"), depends
// on timing, for docker as for mybuild.
var droppedConnection = normalizer{"dropped connection", func(_ *testing.T, r *result, _ env) {
	r.Stderr = connectTail.ReplaceAllString(r.Stderr, "${1}: <I/O error>")
}}

// compressedBody: gzip output differs between compressors; the entries are
// compared after decompression and both bodies must be gzip.
var compressedBody = normalizer{"compressed body", func(t *testing.T, r *result, e env) {
	anySize.fn(t, r, e)
}}

var logrusTime = regexp.MustCompile(`(?m)^time="[^"]*" `)

// logTime: docker's logrus lines carry the time, and mybuild imitates them.
var logTime = normalizer{"log time", func(_ *testing.T, r *result, _ env) {
	r.Stderr = logrusTime.ReplaceAllString(r.Stderr, `time="<TIME>" `)
}}

// madeNow: the entries named were written by the client at run time (the
// temporary Dockerfile of a stdin Dockerfile context), so their mtime is
// "now": the two clients run in different seconds at times. The body
// digest covers that mtime, so it goes too; the entries (with their
// content) are still compared.
func madeNow(names ...string) normalizer {
	return normalizer{"mtime now", func(_ *testing.T, r *result, _ env) {
		for i := range r.Builds {
			for j := range r.Builds[i].Entries {
				en := &r.Builds[i].Entries[j]
				if slices.Contains(names, en.Name) {
					en.ModTime = time.Time{}
					r.Builds[i].BodySHA256 = ""
				}
			}
		}
	}}
}
