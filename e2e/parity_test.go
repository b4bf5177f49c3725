package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mybuild/mybuild/internal/testbed"
)

// Output parity with the reference client: the same context is built by
// `DOCKER_BUILDKIT=0 /usr/local/bin/docker -H <sock> build ARGS -t <tagD> PATH` and by
// `mybuild -H <sock> ARGS -t <tagM> PATH`, and stdout, stderr and the exit code must match once
//
//   - image and container IDs (12 and 64 hex digits) are replaced by placeholders: every build
//     makes new ones (timestamps are part of the image config);
//   - the two tags are replaced by one placeholder;
//   - docker's DEPRECATED banner (3 lines and a blank line on stderr, which mybuild
//     deliberately does not print) is removed.
//
// Cache state: by default both builds run with --no-cache, so both print the same steps no
// matter which ran first (with the cache, the second client would print "Using cache" where
// the first ran the step). The cached case is checked separately (cached: true): docker builds
// once with --no-cache to fill the cache, and then both docker and mybuild build again without
// --no-cache, so both see every step cached and must print the same "Using cache" lines.

// RUN scripts that write to both stdout and stderr sleep in between: the daemon forwards the
// container's two streams as they come, so without a pause their order in the build output
// varies from run to run (for docker too).

// parityCase is one build done with both clients.
type parityCase struct {
	name  string
	files map[string]string // the context; "Dockerfile" gets dockerfile()'s token line when it starts with "FROM base\n"
	args  []string          // build flags (before -t and the path)
	path  string            // context argument, default "."
	stdin string            // fed to both, for "-" and "-f -"
	// cached: see above; otherwise --no-cache is added.
	cached bool
	// noTag: do not pass -t (e.g. the build fails before any image exists).
	noTag bool
	// host overrides the -H value (for "no daemon" cases).
	host string
	// anySize: the "Sending build context" byte count may differ. With -f -, docker's tar is
	// truncated (go-archive closes the pipe before the tar trailer, see the spec §2) and
	// mybuild may send a well-formed one; the daemon accepts both.
	anySize bool
	// dockerTarNoise: drop docker's logrus lines about tarring into a closed pipe. When the
	// daemon cannot be reached docker has already started tarring, and whether these lines
	// appear depends on timing; mybuild prints only the connection error.
	dockerTarNoise bool
	// usage: a command-line error; docker's "docker build" / "docker:" program name is
	// replaced by mybuild's before comparing.
	usage bool
	// env is added to both clients' environment.
	env []string
	// config, when set, is the content of config.json in a DOCKER_CONFIG made for this case.
	config string
	// setup runs after the files are written (modes, links, mtimes).
	setup func(t tb, dir string)
	// stdinBytes is fed to both as is (a tar for "-").
	stdinBytes []byte
	// serve: files served over loopback HTTP for URL contexts; "{{URL}}" in path and args is
	// replaced by the server's base URL.
	serve map[string][]byte
	// iidfile: both write --iidfile, and the files must match too.
	iidfile bool
	// noPath: no context argument at all.
	noPath bool
	// hint is the line mybuild adds at the end of stderr after docker's
	// message (README), without its "hint: "; it must be there, and is
	// removed before the comparison.
	hint string
	// knownBug names a difference already reported to the mybuild developers: while it
	// persists the case is skipped with the diff in the log (MYBUILD_E2E_STRICT=1 makes it
	// fail instead); once mybuild matches docker the case passes and the note can go.
	knownBug string
}

var (
	id64 = regexp.MustCompile(`[0-9a-f]{64}`)
	id12 = regexp.MustCompile(`\b[0-9a-f]{12}\b`)
)

var (
	sendingSize = regexp.MustCompile(`(Sending build context to Docker daemon +)[0-9.]+[kMG]?B`)
	tarNoise    = regexp.MustCompile(`(?m)^time="[^"]*" level=error msg="Can't (add file .* to tar|close tar writer): io: read/write on closed pipe"\n`)
)

func normalise(s string, tags ...string) string {
	s = id64.ReplaceAllString(s, "<ID64>")
	s = id12.ReplaceAllString(s, "<ID12>")
	for _, t := range tags {
		if t != "" {
			s = strings.ReplaceAll(s, t, "<TAG>")
		}
	}
	return s
}

// stripBanner removes docker's legacy-builder deprecation warning from the start of stderr.
func stripBanner(stderr string) string {
	if !strings.HasPrefix(stderr, "DEPRECATED: The legacy builder is deprecated") {
		return stderr
	}
	if i := strings.Index(stderr, "\n\n"); i >= 0 {
		return stderr[i+2:]
	}
	return stderr
}

func TestParity(t *testing.T) {
	needDaemon(t)
	needReference(t)
	const base = "FROM base\n"
	cases := []parityCase{
		{
			name: "success",
			files: map[string]string{
				"Dockerfile": base + "ENV GREETING=hello\nCOPY hello.txt /hello.txt\n" +
					"RUN cat /hello.txt > /copied; echo to-stdout; sleep 0.5; echo to-stderr >&2\n" +
					"WORKDIR /app\nCMD [\"cat\", \"/copied\"]\n",
				"hello.txt": "hello parity\n",
			},
		},
		{
			name:  "failing RUN",
			files: map[string]string{"Dockerfile": base + "RUN echo out; sleep 0.5; echo err >&2; exit 3\n"},
		},
		{
			name:  "exit 300",
			files: map[string]string{"Dockerfile": base + "RUN exit 300\n"},
		},
		{
			name:  "COPY missing",
			files: map[string]string{"Dockerfile": base + "COPY missing /missing\n"},
		},
		{
			name:  "parse error",
			files: map[string]string{"Dockerfile": base + "BOGUS instruction\n"},
		},
		{
			name:  "quiet success",
			args:  []string{"-q"},
			files: map[string]string{"Dockerfile": base + "RUN echo noisy; echo noisier >&2\n"},
		},
		{
			name:  "quiet failure",
			args:  []string{"-q"},
			files: map[string]string{"Dockerfile": base + "RUN echo before; exit 5\n"},
		},
		{
			name: "target, build-arg, label, unused build-arg warning",
			args: []string{"--target", "one", "--build-arg", "A=from-flag", "--build-arg", "UNUSED=1", "--label", "a=b"},
			files: map[string]string{"Dockerfile": base + "ARG A=default\nRUN echo \"A=$A\"\n" +
				"FROM base AS one\nRUN echo one\nFROM base AS two\nRUN echo two\n"},
		},
		{
			name: ".dockerignore and a bigger context",
			files: map[string]string{
				"Dockerfile":    base + "COPY . /ctx\nRUN find /ctx | sort\n",
				".dockerignore": "*.secret\n**/*.log\n",
				"a.secret":      "x",
				"sub/b.log":     "x",
				"sub/c.txt":     strings.Repeat("0123456789abcdef", 8192), // 128 KiB
				"d.txt":         "d\n",
			},
		},
		{
			name: "-f in a subdirectory",
			args: []string{"-f", "build/Dockerfile.dev"},
			files: map[string]string{
				"build/Dockerfile.dev": base + "COPY x /x\nRUN cat /x\n",
				"x":                    "x\n",
			},
		},
		{
			name:  "Dockerfile on stdin",
			path:  "-",
			stdin: base + "RUN echo from stdin\n",
		},
		{
			name:    "-f - with a directory",
			args:    []string{"-f", "-"},
			anySize: true,
			stdin:   base + "COPY y /y\nRUN cat /y\n",
			files:   map[string]string{"y": "y\n"},
		},
		{
			name:   "cached",
			cached: true,
			files:  map[string]string{"Dockerfile": base + "RUN echo cache me\nCOPY z /z\n", "z": "z\n"},
		},
		{
			name:    "iidfile",
			iidfile: true,
			files:   map[string]string{"Dockerfile": base + "RUN true\n"},
		},
		{
			name:    "iidfile quiet",
			args:    []string{"-q"},
			iidfile: true,
			files:   map[string]string{"Dockerfile": base + "RUN true\n"},
		},
		{
			name:  "file metadata: modes, owners, mtimes, symlinks, hard links, empty dirs",
			files: map[string]string{"Dockerfile": base + "COPY . /ctx\n" + statAll, "empty/": "", "d/sub/": ""},
			setup: metadataContext,
		},
		{
			name:     "--compress",
			args:     []string{"--compress"},
			knownBug: "--compress uses pgzip: the compressed size in \"Sending build context\" differs from docker's compress/gzip",
			files:    map[string]string{"Dockerfile": base + "COPY . /ctx\n", "big.txt": strings.Repeat("compress me ", 20000), "small": "s"},
		},
		{
			name:  "lowercase dockerfile",
			files: map[string]string{"dockerfile": base + "RUN echo lower\n"},
		},
		{
			name: "Dockerfile and .dockerignore listed in .dockerignore are still sent",
			files: map[string]string{
				"Dockerfile":    base + "COPY . /ctx\nRUN ls -A /ctx\n",
				".dockerignore": "Dockerfile\n.dockerignore\nother\n",
				"other":         "o", "kept": "k",
			},
		},
		{
			name:  "--build-arg taken from the environment",
			args:  []string{"--build-arg", "FROM_ENV", "--build-arg", "UNSET_IN_ENV"},
			env:   []string{"FROM_ENV=value from env"},
			files: map[string]string{"Dockerfile": base + "ARG FROM_ENV\nARG UNSET_IN_ENV=dflt\nRUN echo \"[$FROM_ENV] [$UNSET_IN_ENV]\"\n"},
		},
		{
			name:   "proxy build-args from config.json",
			config: `{"proxies":{"default":{"httpProxy":"http://proxy.invalid:3128","noProxy":"localhost"}}}`,
			args:   []string{"--build-arg", "HTTP_PROXY=mine"},
			files:  map[string]string{"Dockerfile": base + "RUN env | grep -i proxy | sort\n"},
		},
		{
			name:       "tar on stdin",
			path:       "-",
			stdinBytes: tarOf(map[string]string{"Dockerfile": "FROM base\nCOPY f /f\nRUN cat /f\n", "f": "from the tar\n"}),
		},
		{
			name:     "remote tar URL",
			knownBug: "URL contexts (http/https) are not implemented: mybuild says `path ... not found`",
			path:     "{{URL}}/ctx.tar",
			serve:    map[string][]byte{"/ctx.tar": tarOf(map[string]string{"Dockerfile": "FROM base\nCOPY f /f\nRUN cat /f\n", "f": "remote\n"})},
		},
		{
			name:     "remote Dockerfile URL",
			knownBug: "URL contexts (http/https) are not implemented: mybuild says `path ... not found`",
			path:     "{{URL}}/Dockerfile",
			serve:    map[string][]byte{"/Dockerfile": []byte(withBase("FROM base\nRUN echo remote dockerfile\n"))},
		},
		{
			name:     "remote URL 404",
			knownBug: "URL contexts (http/https) are not implemented: mybuild says `path ... not found`",
			noTag:    true,
			path:     "{{URL}}/missing.tar",
			serve:    map[string][]byte{},
		},
		{
			name:  "usage: no argument",
			noTag: true, usage: true, noPath: true,
		},
		{
			name:  "usage: unknown flag",
			noTag: true, usage: true,
			args:  []string{"--bogus"},
			files: map[string]string{"Dockerfile": base},
		},
		{
			name:  "usage: bad memory value",
			noTag: true, usage: true,
			args:  []string{"-m", "lots"},
			files: map[string]string{"Dockerfile": base},
		},
		{
			name:  "stdin for both context and Dockerfile",
			noTag: true,
			args:  []string{"-f", "-"},
			path:  "-",
			stdin: base,
		},
		{
			name:  "missing Dockerfile",
			noTag: true,
			files: map[string]string{"other": "x"},
			hint:  "no file named Dockerfile in .; name the Dockerfile with -f, or send it on stdin with -f -",
		},
		{
			name:  "RUN --mount (BuildKit only)",
			files: map[string]string{"Dockerfile": base + "RUN --mount=type=cache,target=/c true\n"},
			hint:  "this needs BuildKit, and the classic builder is building: run with DOCKER_BUILDKIT=1",
		},
		{
			name:  "here-document (BuildKit only)",
			files: map[string]string{"Dockerfile": base + "RUN <<EOF\necho hi\nEOF\n"},
			hint:  "a here-document (<<EOF) needs BuildKit, and the classic builder is building: run with DOCKER_BUILDKIT=1",
		},
		{
			name:  "missing context directory",
			noTag: true,
			path:  "does-not-exist",
		},
		{
			name:           "no daemon",
			noTag:          true,
			host:           "unix:///nonexistent/docker.sock",
			dockerTarNoise: true,
			files:          map[string]string{"Dockerfile": base},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Each case has its own context, tags and cache tokens, so cases can share the
			// daemon; most of a build's time is container start-up, which overlaps well.
			t.Parallel()
			if tc.knownBug == "" || os.Getenv("MYBUILD_E2E_STRICT") == "1" {
				checkParity(t, tc)
				return
			}
			rec := &recorder{T: t}
			checkParity(rec, tc)
			if !rec.failed {
				t.Logf("known difference %q no longer shows: drop knownBug", tc.knownBug)
				return
			}
			t.Logf("%s", strings.Join(rec.logs, "\n"))
			t.Skipf("known mybuild difference (reported; MYBUILD_E2E_STRICT=1 to fail): %s", tc.knownBug)
		})
	}
}

// withBase puts the base image and a unique token into a Dockerfile written with "FROM base",
// so that neither build can hit a cache entry made outside its case.
func withBase(s string) string {
	s = strings.Replace(s, "FROM base\n", "FROM "+baseImage+"\nLABEL mybuild.e2e.token="+token()+"\n", 1)
	return strings.ReplaceAll(s, "FROM base AS ", "FROM "+baseImage+" AS ")
}

// tarOf is a deterministic tar of files (names sorted, mode 0644, uid/gid 0, fixed mtime),
// Dockerfiles passed through withBase.
func tarOf(files map[string]string) []byte {
	based := map[string]string{}
	for n, body := range files {
		based[n] = withBase(body)
	}
	b, err := testbed.TarOf(based, time.Unix(1600000000, 0))
	if err != nil {
		panic(err)
	}
	return b
}

// statAll lists what COPY . /ctx put into the image: name, mode, owner, type, size, mtime,
// link count and symlink target.
const statAll = "RUN cd /ctx && find . -mindepth 1 | sort | xargs stat -c '%n %a %u:%g %F %s %Y %h %N'\n"

// metadataContext gives a context files whose tar headers matter: modes incl. setuid, a file
// owned by someone else (the tar says uid/gid 0), absolute, relative and dangling symlinks, a
// hard link, empty directories, and fixed mtimes with sub-second parts.
func metadataContext(t tb, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, content string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, []byte(content), mode))
		must(os.Chmod(p, mode)) // not subject to the umask
	}
	write("exec.sh", "#!/bin/sh\necho hi\n", 0o755)
	write("private", "secret-ish\n", 0o600)
	write("suid", "s\n", 0o4755)
	write("d/sub/f", "f\n", 0o640)
	write("owned", "o\n", 0o644)
	must(os.Lchown(filepath.Join(dir, "owned"), 1234, 4321))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "abs-link")))
	must(os.Symlink("exec.sh", filepath.Join(dir, "rel-link")))
	must(os.Symlink("does/not/exist", filepath.Join(dir, "dangling")))
	must(os.Link(filepath.Join(dir, "private"), filepath.Join(dir, "hard")))
	// mtimes last (directories change when entries are added); -h: the links themselves
	out, err := exec.Command("sh", "-c", `cd "$1" && find . -mindepth 1 -exec touch -h -d '2021-02-03 04:05:06.789123456' {} +`, "sh", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("touch: %v\n%s", err, out)
	}
}

var cliName = regexp.MustCompile(`(?m)^docker: `)

func checkParity(t tb, tc parityCase) {
	files := map[string]string{}
	for k, v := range tc.files {
		files[k] = withBase(v)
	}
	dir := writeContext(t, files)
	if tc.setup != nil {
		tc.setup(t, dir)
	}
	var stdin []byte
	switch {
	case tc.stdinBytes != nil:
		stdin = tc.stdinBytes
	case tc.stdin != "":
		stdin = []byte(withBase(tc.stdin))
	}

	h := host
	if tc.host != "" {
		h = tc.host
	}
	path := tc.path
	if path == "" {
		path = "."
	}
	var extraEnv []string
	extraEnv = append(extraEnv, tc.env...)
	if tc.config != "" {
		cfg := t.TempDir()
		if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(tc.config), 0o600); err != nil {
			t.Fatal(err)
		}
		extraEnv = append(extraEnv, "DOCKER_CONFIG="+cfg)
	}
	var srvURL string
	if tc.serve != nil {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, ok := tc.serve[r.URL.Path]
			if !ok {
				http.Error(w, "File not found", http.StatusNotFound)
				return
			}
			_, _ = w.Write(b)
		}))
		t.Cleanup(srv.Close)
		srvURL = srv.URL
	}
	expand := func(s string) string { return strings.ReplaceAll(s, "{{URL}}", srvURL) }
	iidDir := t.TempDir()

	args := func(tag, iid string) []string {
		var a []string
		for _, x := range tc.args {
			a = append(a, expand(x))
		}
		if !tc.cached && !tc.usage {
			a = append(a, "--no-cache")
		}
		if tc.iidfile {
			a = append(a, "--iidfile", iid)
		}
		if !tc.noTag {
			a = append(a, "-t", tag)
		}
		if tc.noPath {
			return a
		}
		return append(a, expand(path))
	}
	spec := func(bin string, pre []string, tag, iid string) cmdSpec {
		return cmdSpec{Bin: bin, Args: append(append([]string{"-H", h}, pre...), args(tag, iid)...), Dir: dir, Stdin: stdin, Env: extraEnv}
	}

	tagD, tagM := tag(t), tag(t)
	iidD, iidM := filepath.Join(iidDir, "docker"), filepath.Join(iidDir, "mybuild")
	if tc.cached {
		warm := spec(referenceDocker, []string{"build", "--no-cache"}, tagD, iidD)
		r := run(t, warm)
		registerOutput(t, r)
		if r.Code != 0 {
			t.Fatalf("warming the cache failed: %s", r)
		}
	}
	d := run(t, spec(referenceDocker, []string{"build"}, tagD, iidD))
	registerOutput(t, d)
	m := run(t, spec(mybuildBin, nil, tagM, iidM))
	registerOutput(t, m)

	if tc.anySize {
		d.Stdout = sendingSize.ReplaceAllString(d.Stdout, "${1}<SIZE>")
		m.Stdout = sendingSize.ReplaceAllString(m.Stdout, "${1}<SIZE>")
	}
	if tc.dockerTarNoise {
		d.Stderr = tarNoise.ReplaceAllString(d.Stderr, "")
	}
	d.Stderr = stripBanner(d.Stderr)
	if tc.hint != "" {
		line := "hint: " + tc.hint + "\n"
		if !strings.HasSuffix(m.Stderr, line) {
			t.Errorf("mybuild's stderr does not end with the line %q", line)
		}
		m.Stderr = strings.TrimSuffix(m.Stderr, line)
	}
	if tc.usage {
		for _, p := range []*string{&d.Stdout, &d.Stderr} {
			*p = cliName.ReplaceAllString(strings.ReplaceAll(*p, "docker build", "mybuild"), "mybuild: ")
		}
	}
	if srvURL != "" {
		// the same server for both; only its port is random
		d.Stdout, m.Stdout = strings.ReplaceAll(d.Stdout, srvURL, "<URL>"), strings.ReplaceAll(m.Stdout, srvURL, "<URL>")
		d.Stderr, m.Stderr = strings.ReplaceAll(d.Stderr, srvURL, "<URL>"), strings.ReplaceAll(m.Stderr, srvURL, "<URL>")
	}

	if d.Code != m.Code {
		t.Errorf("exit code: docker %d, mybuild %d", d.Code, m.Code)
	}
	if diff := cmp.Diff(normalise(d.Stdout, tagD, tagM), normalise(m.Stdout, tagD, tagM)); diff != "" {
		t.Errorf("stdout differs (-docker +mybuild):\n%s", diff)
	}
	if diff := cmp.Diff(normalise(d.Stderr, tagD, tagM), normalise(m.Stderr, tagD, tagM)); diff != "" {
		t.Errorf("stderr differs (-docker +mybuild; docker's DEPRECATED banner removed):\n%s", diff)
	}
	if tc.iidfile {
		bd, errD := os.ReadFile(iidD)
		bm, errM := os.ReadFile(iidM)
		if (errD == nil) != (errM == nil) {
			t.Errorf("iidfile: docker's read error %v, mybuild's %v", errD, errM)
		}
		if diff := cmp.Diff(normalise(string(bd)), normalise(string(bm))); diff != "" {
			t.Errorf("iidfile content differs (-docker +mybuild):\n%s", diff)
		}
	}
	if t.Failed() {
		t.Logf("docker: %s\n\nmybuild: %s", d, m)
	}
	if tc.cached && !strings.Contains(m.Stdout, "Using cache") {
		t.Errorf("the cached case did not use the cache: %s", m)
	}
}

// recorder wraps a *testing.T but keeps errors as log lines.
type recorder struct {
	*testing.T
	failed bool
	logs   []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *recorder) Failed() bool { return r.failed }
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
