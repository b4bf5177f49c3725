package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerfile makes a Dockerfile FROM the base image whose second instruction labels it with a
// fresh token: no build of a test can hit the cache of a build made elsewhere.
func dockerfile(lines ...string) string {
	return "FROM " + baseImage + "\nLABEL mybuild.e2e.token=" + token() + "\n" + strings.Join(lines, "\n") + "\n"
}

var (
	imageIDLine   = regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`)
	imageIDNoLine = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

func TestRunAndCopy(t *testing.T) {
	needDaemon(t)
	content := "hello from " + token() + "\n"
	dir := writeContext(t, map[string]string{
		"hello.txt":  content,
		"Dockerfile": dockerfile("COPY hello.txt /hello.txt", "RUN cat /hello.txt > /copied"),
	})
	img := tag(t)
	r := mybuild(t, dir, "-t", img, ".")
	if r.Code != 0 {
		t.Fatalf("mybuild failed: %s", r)
	}
	wantAll(t, "stdout", r.Stdout,
		"Sending build context to Docker daemon",
		"Step 3/4 : COPY hello.txt /hello.txt\n",
		"Step 4/4 : RUN cat /hello.txt > /copied\n",
		"Successfully built ",
		"Successfully tagged "+img+"\n")
	if r.Stderr != "" {
		t.Errorf("stderr = %q, want nothing (no DEPRECATED banner, no errors)", r.Stderr)
	}
	if got := dockerRun(t, img, "cat", "/copied"); got != content {
		t.Errorf("/copied in the image = %q, want %q", got, content)
	}
	if got := dockerRun(t, img, "cat", "/hello.txt"); got != content {
		t.Errorf("/hello.txt in the image = %q, want %q", got, content)
	}
}

func TestFailingRunExitCode(t *testing.T) {
	needDaemon(t)
	for _, tc := range []struct {
		name     string
		script   string
		wantCode int
		wantErr  string
	}{
		{"exit3", "echo out; echo err >&2; exit 3", 3,
			"The command '/bin/sh -c echo out; echo err >&2; exit 3' returned a non-zero code: 3\n"},
		// An exit status has 8 bits: the shell's `exit 300` is 44 already for the daemon,
		// which reports code 44, and so both docker and mybuild exit 44.
		{"exit300", "exit 300", 44,
			"The command '/bin/sh -c exit 300' returned a non-zero code: 44\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN " + tc.script)})
			r := mybuild(t, dir, "-t", tag(t), ".")
			if r.Code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%s", r.Code, tc.wantCode, r)
			}
			if r.Stderr != tc.wantErr {
				t.Errorf("stderr = %q, want %q", r.Stderr, tc.wantErr)
			}
			// (the RUN's stdout and stderr reach the stream in either order; stderr is
			// wrapped in "\x1b[91m" ... "\x1b[0m")
			if tc.name == "exit3" && (!strings.Contains(r.Stdout, "out\n") || !strings.Contains(r.Stdout, "\x1b[91merr\n")) {
				t.Errorf("the RUN's output is not in mybuild's stdout:\n%s", r.Stdout)
			}
			if strings.Contains(r.Stdout, "Successfully built") {
				t.Errorf("a failed build says it succeeded:\n%s", r.Stdout)
			}
		})
	}
}

func TestQuiet(t *testing.T) {
	needDaemon(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": dockerfile("RUN echo building; echo noise >&2"),
	})
	img := tag(t)
	r := mybuild(t, dir, "-q", "-t", img, ".")
	if r.Code != 0 {
		t.Fatalf("mybuild -q failed: %s", r)
	}
	if !imageIDLine.MatchString(r.Stdout) {
		t.Errorf("stdout = %q, want only sha256:<64 hex> and a newline", r.Stdout)
	}
	if r.Stderr != "" {
		t.Errorf("stderr = %q, want nothing", r.Stderr)
	}
	if id := imageID(t, img); strings.TrimSpace(r.Stdout) != id {
		t.Errorf("printed %q, but %s is %s", r.Stdout, img, id)
	}

	t.Run("failure", func(t *testing.T) {
		dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN echo before-failing; exit 7")})
		r := mybuild(t, dir, "-q", "-t", tag(t), ".")
		if r.Code != 7 {
			t.Errorf("exit code %d, want 7\n%s", r.Code, r)
		}
		if r.Stdout != "" {
			t.Errorf("stdout = %q, want nothing", r.Stdout)
		}
		// -q failure: the buffered progress and build log go to stderr, then the error
		for _, want := range []string{"Sending build context to Docker daemon", "before-failing", "returned a non-zero code: 7\n"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
			}
		}
	})
}

func TestIIDFile(t *testing.T) {
	needDaemon(t)
	for _, quiet := range []bool{false, true} {
		name := "plain"
		if quiet {
			name = "quiet"
		}
		t.Run(name, func(t *testing.T) {
			dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN echo x > /x")})
			iid := filepath.Join(t.TempDir(), "iid")
			// a stale file is deleted first and replaced
			if err := os.WriteFile(iid, []byte("stale"), 0o644); err != nil {
				t.Fatal(err)
			}
			img := tag(t)
			args := []string{"--iidfile", iid, "-t", img, "."}
			if quiet {
				args = append([]string{"-q"}, args...)
			}
			r := mybuild(t, dir, args...)
			if r.Code != 0 {
				t.Fatalf("mybuild failed: %s", r)
			}
			b, err := os.ReadFile(iid)
			if err != nil {
				t.Fatalf("iidfile: %v", err)
			}
			got := string(b)
			want := imageIDNoLine
			if quiet {
				want = imageIDLine // docker writes the quiet buffer, newline included
			}
			if !want.MatchString(got) {
				t.Errorf("iidfile = %q, want match of %s", got, want)
			}
			if id := imageID(t, img); strings.TrimSpace(got) != id {
				t.Errorf("iidfile holds %q, docker image inspect says %q", got, id)
			}
			if quiet && r.Stdout != got {
				t.Errorf("-q stdout %q differs from the iidfile %q", r.Stdout, got)
			}
		})
	}

	t.Run("failed build removes stale file", func(t *testing.T) {
		dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN exit 1")})
		iid := filepath.Join(t.TempDir(), "iid")
		if err := os.WriteFile(iid, []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := mybuild(t, dir, "--iidfile", iid, "-t", tag(t), ".")
		if r.Code != 1 {
			t.Errorf("exit code %d, want 1\n%s", r.Code, r)
		}
		if _, err := os.Stat(iid); !os.IsNotExist(err) {
			t.Errorf("iidfile after a failed build: %v, want it removed (docker deletes it at start)", err)
		}
	})
}

func TestLabelBuildArgTarget(t *testing.T) {
	needDaemon(t)
	greeting := "hi-" + token()
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + baseImage + " AS base\n" +
			"LABEL mybuild.e2e.token=" + token() + "\n" +
			"ARG GREETING=default-greeting\n" +
			"RUN echo \"$GREETING\" > /greeting\n" +
			"FROM base AS wanted\n" +
			"RUN echo wanted > /stage\n" +
			"FROM base AS other\n" +
			"RUN echo other > /stage\n",
	})

	img := tag(t)
	r := mybuild(t, dir, "--label", "a=b", "--label", "e2e.second=with space",
		"--build-arg", "GREETING="+greeting, "--target", "wanted", "-t", img, ".")
	if r.Code != 0 {
		t.Fatalf("mybuild failed: %s", r)
	}
	if strings.Contains(r.Stdout, "echo other") {
		t.Errorf("--target wanted also built the later stage:\n%s", r.Stdout)
	}
	var labels map[string]string
	if err := json.Unmarshal([]byte(docker(t, "image", "inspect", "-f", "{{json .Config.Labels}}", img)), &labels); err != nil {
		t.Fatal(err)
	}
	if labels["a"] != "b" || labels["e2e.second"] != "with space" {
		t.Errorf("labels = %v, want a=b and e2e.second=with space", labels)
	}
	if got, want := dockerRun(t, img, "cat", "/greeting", "/stage"), greeting+"\nwanted\n"; got != want {
		t.Errorf("/greeting + /stage = %q, want %q", got, want)
	}

	t.Run("defaults", func(t *testing.T) {
		// no --build-arg, no --target: the ARG default and the last stage
		img := tag(t)
		r := mybuild(t, dir, "-t", img, ".")
		if r.Code != 0 {
			t.Fatalf("mybuild failed: %s", r)
		}
		if got, want := dockerRun(t, img, "cat", "/greeting", "/stage"), "default-greeting\nother\n"; got != want {
			t.Errorf("/greeting + /stage = %q, want %q", got, want)
		}
	})

	t.Run("unknown target", func(t *testing.T) {
		r := mybuild(t, dir, "--target", "nosuchstage", "-t", tag(t), ".")
		if r.Code != 1 || !strings.Contains(r.Stderr, "nosuchstage") {
			t.Errorf("want exit 1 and an error naming the stage: %s", r)
		}
	})
}

func TestDockerignore(t *testing.T) {
	needDaemon(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile":       dockerfile("COPY . /ctx"),
		".dockerignore":    "# comment\nsecret.txt\n**/*.log\nbuild/\n!build/keep.me\n",
		"keep.txt":         "keep\n",
		"secret.txt":       "do not ship\n",
		"sub/a.log":        "log\n",
		"sub/data.txt":     "data\n",
		"build/junk.o":     "junk\n",
		"build/keep.me":    "re-included\n",
		"deep/er/skip.log": "log\n",
	})
	img := tag(t)
	r := mybuild(t, dir, "-t", img, ".")
	if r.Code != 0 {
		t.Fatalf("mybuild failed: %s", r)
	}
	got := dockerRun(t, img, "find", "/ctx", "-type", "f")
	files := map[string]bool{}
	for _, f := range strings.Fields(got) {
		files[f] = true
	}
	for _, f := range []string{"/ctx/Dockerfile", "/ctx/.dockerignore", "/ctx/keep.txt", "/ctx/sub/data.txt", "/ctx/build/keep.me"} {
		if !files[f] {
			t.Errorf("%s missing from the image; files: %s", f, got)
		}
	}
	for _, f := range []string{"/ctx/secret.txt", "/ctx/sub/a.log", "/ctx/build/junk.o", "/ctx/deep/er/skip.log"} {
		if files[f] {
			t.Errorf("%s is in the image although .dockerignore excludes it", f)
		}
	}

	t.Run("COPY of an ignored file", func(t *testing.T) {
		dir := writeContext(t, map[string]string{
			"Dockerfile":    dockerfile("COPY secret.txt /"),
			".dockerignore": "secret.txt\n",
			"secret.txt":    "x\n",
		})
		r := mybuild(t, dir, "-t", tag(t), ".")
		// docker's message, then mybuild's hint with the deciding line.
		want := "COPY failed: file not found in build context or excluded by .dockerignore: stat secret.txt: file does not exist\n" +
			"hint: secret.txt: not sent: excluded by .dockerignore line 1: secret.txt (mybuild --explain-path secret.txt .)\n"
		if r.Code != 1 || r.Stderr != want {
			t.Errorf("want exit 1 and stderr %q, got %s", want, r)
		}
	})
}

func TestDockerfileFlagAndStdin(t *testing.T) {
	needDaemon(t)
	t.Run("-f in a subdirectory", func(t *testing.T) {
		dir := writeContext(t, map[string]string{
			"docker/Prod.Dockerfile": dockerfile("COPY f /f"),
			"f":                      "from-f\n",
		})
		img := tag(t)
		r := mybuild(t, dir, "-f", "docker/Prod.Dockerfile", "-t", img, ".")
		if r.Code != 0 {
			t.Fatalf("mybuild failed: %s", r)
		}
		if got := dockerRun(t, img, "cat", "/f"); got != "from-f\n" {
			t.Errorf("/f = %q", got)
		}
	})
	t.Run("Dockerfile on stdin as the context", func(t *testing.T) {
		img := tag(t)
		r := run(t, cmdSpec{
			Bin:   mybuildBin,
			Args:  []string{"-H", host, "-t", img, "-"},
			Dir:   t.TempDir(),
			Stdin: []byte(dockerfile("RUN echo stdin > /s")),
		})
		registerOutput(t, r)
		if r.Code != 0 {
			t.Fatalf("mybuild - failed: %s", r)
		}
		if got := dockerRun(t, img, "cat", "/s"); got != "stdin\n" {
			t.Errorf("/s = %q", got)
		}
	})
	t.Run("-f - with a directory context", func(t *testing.T) {
		dir := writeContext(t, map[string]string{"f": "ctx-file\n", "Dockerfile": "FROM scratch\nBOGUS\n"})
		img := tag(t)
		r := run(t, cmdSpec{
			Bin:   mybuildBin,
			Args:  []string{"-H", host, "-f", "-", "-t", img, "."},
			Dir:   dir,
			Stdin: []byte(dockerfile("COPY f /f")),
		})
		registerOutput(t, r)
		if r.Code != 0 {
			t.Fatalf("mybuild -f - failed: %s", r)
		}
		if got := dockerRun(t, img, "cat", "/f"); got != "ctx-file\n" {
			t.Errorf("/f = %q", got)
		}
	})
}

func TestDockerHostEnv(t *testing.T) {
	needDaemon(t)
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile()})
	img := tag(t)
	r := run(t, cmdSpec{Bin: mybuildBin, Args: []string{"-q", "-t", img, "."}, Dir: dir, Env: []string{"DOCKER_HOST=" + host}})
	registerOutput(t, r)
	if r.Code != 0 || !imageIDLine.MatchString(r.Stdout) {
		t.Fatalf("mybuild with DOCKER_HOST=%s: %s", host, r)
	}
	if id := imageID(t, img); strings.TrimSpace(r.Stdout) != id {
		t.Errorf("printed %q, image is %s", r.Stdout, id)
	}

	t.Run("-H beats DOCKER_HOST", func(t *testing.T) {
		img := tag(t)
		r := run(t, cmdSpec{Bin: mybuildBin, Args: []string{"-H", host, "-q", "-t", img, "."}, Dir: dir,
			Env: []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}})
		registerOutput(t, r)
		if r.Code != 0 {
			t.Fatalf("mybuild -H with a bad DOCKER_HOST: %s", r)
		}
	})

	t.Run("no daemon", func(t *testing.T) {
		r := run(t, cmdSpec{Bin: mybuildBin, Args: []string{"-t", tag(t), "."}, Dir: dir,
			Env: []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}})
		if r.Code != 1 || !strings.Contains(r.Stderr, "/nonexistent/docker.sock") {
			t.Errorf("want exit 1 and an error naming the socket: %s", r)
		}
	})
}

func TestNoCacheAndCache(t *testing.T) {
	needDaemon(t)
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN echo cached > /c")})
	first := mybuild(t, dir, "-t", tag(t), ".")
	if first.Code != 0 {
		t.Fatalf("first build: %s", first)
	}
	second := mybuild(t, dir, "-t", tag(t), ".")
	if second.Code != 0 || strings.Count(second.Stdout, "Using cache") != 2 {
		t.Errorf("second build should hit the cache for LABEL and RUN: %s", second)
	}
	third := mybuild(t, dir, "--no-cache", "-t", tag(t), ".")
	if third.Code != 0 || strings.Contains(third.Stdout, "Using cache") {
		t.Errorf("--no-cache build used the cache: %s", third)
	}
}

// TestSplicedDockerfileCache: a Dockerfile from stdin or from outside the
// context is added under a fixed name, so a context with a .dockerignore
// hits the cache at `COPY .` on a rebuild (docker's random name misses it
// every time: docker/cli#731), and the added file never reaches the image.
func TestSplicedDockerfileCache(t *testing.T) {
	needDaemon(t)
	for _, tc := range []struct{ name, file string }{
		{"-f -", "-"},
		{"-f outside the context", "../Dockerfile.outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			df := dockerfile("COPY . /ctx", "RUN ls -A /ctx > /listing")
			root := writeContext(t, map[string]string{
				"ctx/.dockerignore": "*.tmp\n", "ctx/a": "a\n", "ctx/b.tmp": "b\n", "Dockerfile.outside": df,
			})
			dir := filepath.Join(root, "ctx")
			build := func() result {
				img := tag(t)
				r := run(t, cmdSpec{Bin: mybuildBin, Args: []string{"-H", host, "-f", tc.file, "-t", img, "."}, Dir: dir, Stdin: []byte(df)})
				registerOutput(t, r)
				if r.Code != 0 {
					t.Fatalf("mybuild -f %s: %s", tc.file, r)
				}
				if got := dockerRun(t, img, "cat", "/listing"); got != ".dockerignore\na\n" {
					t.Errorf("/ctx holds %q, want .dockerignore and a", got)
				}
				return r
			}
			build()
			if second := build(); strings.Count(second.Stdout, "Using cache") != 3 {
				t.Errorf("the rebuild should hit the cache for LABEL, COPY and RUN:\n%s", second)
			}
		})
	}
}
