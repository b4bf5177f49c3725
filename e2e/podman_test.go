package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mybuild/mybuild/internal/testbed"
)

// Podman: mybuild against Podman's Docker-compatible API (`podman system service`, which
// scripts/test-podman.sh starts on unix:///run/mybuild-podman.sock with the base image loaded).
// Every build goes through DOCKER_HOST. The reference is the docker CLI against the same
// socket: whatever `DOCKER_BUILDKIT=0 docker build` prints and exits with against podman,
// mybuild must print and exit with too (podman's output is not dockerd's: "STEP 1/3:", no
// per-step exit codes, see docs/podman.md).
//
//	MYBUILD_E2E_PODMAN_SOCK  podman's unix socket (default /run/mybuild-podman.sock)
//
// Without MYBUILD_E2E=1 these tests skip when podman does not answer; with it they fail.

const defaultPodmanSock = "/run/mybuild-podman.sock"

// podmanSetup is what needPodman finds once for all the Podman tests.
var podmanSetup struct {
	once   sync.Once
	sock   string
	bin    string // the mybuild binary
	docker string // a docker CLI for the reference builds and `docker run`, "" if none
	skip   string // why the tests cannot run
	broken string // why they fail even without MYBUILD_E2E=1
}

// podman is one test's handle on the podman service.
type podman struct {
	t      *testing.T
	sock   string
	host   string
	bin    string
	docker string
}

// podmanTags are the tags the podman tests made, removed when the top-level test ends (after
// its parallel subtests): see podmanCleanup.
var podmanTags struct {
	mu   sync.Mutex
	tags []string
}

// needPodman skips (fails with MYBUILD_E2E=1) when podman does not answer or lacks the base
// image. Every top-level Podman test calls it (and none calls t.Parallel): its cleanup removes
// what the test and its subtests built.
func needPodman(t *testing.T) *podman {
	t.Helper()
	s := &podmanSetup
	s.once.Do(func() {
		s.sock = envOr("MYBUILD_E2E_PODMAN_SOCK", defaultPodmanSock)
		if err := pingDaemon(s.sock); err != nil {
			s.skip = fmt.Sprintf("no podman service answers /_ping on %s (%v); run scripts/test-podman.sh as root", s.sock, err)
			return
		}
		if code, body := podmanAPI(s.sock, http.MethodGet, "/images/"+baseImage+"/json"); code != http.StatusOK {
			s.skip = fmt.Sprintf("podman on %s lacks the base image %s (%d %s); run scripts/test-podman.sh", s.sock, baseImage, code, strings.TrimSpace(string(body)))
			return
		}
		if _, err := os.Stat(referenceDocker); err == nil {
			s.docker = referenceDocker
		} else if p, err := exec.LookPath("docker"); err == nil {
			s.docker = p
		}
		s.bin = mybuildBin
		if s.bin == "" { // TestMain builds it only when the dockerd answers
			s.bin, s.broken = buildMybuild()
		}
	})
	if s.broken != "" {
		t.Fatal(s.broken)
	}
	if s.skip != "" {
		testbed.Unavailable(t, "%s", s.skip)
	}
	if !strings.Contains(t.Name(), "/") {
		start := time.Now()
		t.Cleanup(func() { podmanCleanup(s.sock, start) })
	}
	return &podman{t: t, sock: s.sock, host: "unix://" + s.sock, bin: s.bin, docker: s.docker}
}

// buildMybuild builds the binary into a fixed place under the temp directory (no dockerd:
// TestMain did not build one).
func buildMybuild() (bin, problem string) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("mybuild-e2e-podman-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err.Error()
	}
	bin, err := testbed.BuildMybuild(dir)
	if err != nil {
		return "", err.Error()
	}
	return bin, ""
}

// podmanAPI does one request to podman's Docker-compatible API and returns status and body.
func podmanAPI(sock, method, path string) (int, []byte) {
	c := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
	version := "v1.41" // the Docker API podman serves
	if strings.HasPrefix(path, "/libpod/") {
		version = "v4.0.0"
	}
	req, err := http.NewRequest(method, "http://podman/"+version+path, nil)
	if err != nil {
		return 0, []byte(err.Error())
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// podmanImage is the part of GET /images/{name}/json the tests look at.
type podmanImage struct {
	ID       string `json:"Id"`
	RepoTags []string
	Config   struct{ Labels map[string]string }
}

func (p *podman) inspect(ref string) podmanImage {
	p.t.Helper()
	code, body := podmanAPI(p.sock, http.MethodGet, "/images/"+ref+"/json")
	if code != http.StatusOK {
		p.t.Fatalf("GET /images/%s/json on podman: %d %s", ref, code, body)
	}
	var img podmanImage
	if err := json.Unmarshal(body, &img); err != nil {
		p.t.Fatalf("image inspect: %v\n%s", err, body)
	}
	return img
}

// tag is a fresh image name, removed with its untagged parents when the test ends.
func (p *podman) tag() string {
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(p.t.Name()), "-"), "-")
	if len(name) > 60 {
		name = name[:60]
	}
	ref := fmt.Sprintf("mybuild-e2e/%s-%s:latest", name, randHex(4))
	podmanTags.mu.Lock()
	podmanTags.tags = append(podmanTags.tags, ref)
	podmanTags.mu.Unlock()
	return ref
}

// mybuild runs the binary under test with DOCKER_HOST pointing at podman.
func (p *podman) mybuild(dir string, args ...string) result {
	p.t.Helper()
	return run(p.t, cmdSpec{Bin: p.bin, Args: args, Dir: dir, Env: []string{"DOCKER_HOST=" + p.host}})
}

// dockerBuild runs `docker build args...` with DOCKER_HOST pointing at podman (the reference).
func (p *podman) dockerBuild(dir string, args ...string) result {
	p.t.Helper()
	if p.docker != referenceDocker {
		testbed.Unavailable(p.t, "the reference docker CLI %s is not installed", referenceDocker)
	}
	return run(p.t, cmdSpec{Bin: p.docker, Args: append([]string{"build"}, args...), Dir: dir, Env: []string{"DOCKER_HOST=" + p.host}})
}

// run runs cmd in a throw-away container of img (no network) through podman and returns its stdout.
func (p *podman) run(img string, cmd ...string) string {
	p.t.Helper()
	if p.docker == "" {
		testbed.Unavailable(p.t, "no docker CLI to run a container through podman")
	}
	r := run(p.t, cmdSpec{Bin: p.docker, Args: append([]string{"run", "--rm", "--network", "none", img}, cmd...),
		Env: []string{"DOCKER_HOST=" + p.host}})
	if r.Code != 0 {
		p.t.Fatalf("docker run %s through podman: %s", img, r)
	}
	return r.Stdout
}

// podmanCleanup removes what the tests made since start: the buildah working containers that
// failed builds leave in podman's storage (where dockerd leaves the failed container; `podman
// ps --all --storage` lists them), the tags (podman removes their untagged parents with them),
// then the untagged images of failed builds, newest first. Only mybuild's tests use this
// service, and no build runs while this does (see needPodman).
func podmanCleanup(sock string, start time.Time) {
	if os.Getenv("MYBUILD_E2E_KEEP") == "1" {
		return
	}
	podmanTags.mu.Lock()
	defer podmanTags.mu.Unlock()
	if code, body := podmanAPI(sock, http.MethodGet, "/libpod/containers/json?all=true&external=true"); code == http.StatusOK {
		var ctrs []struct {
			ID      string `json:"Id"`
			State   string
			Command []string
			Created time.Time
		}
		_ = json.Unmarshal(body, &ctrs)
		for _, c := range ctrs {
			if c.State == "storage" && len(c.Command) == 1 && c.Command[0] == "buildah" && !c.Created.Before(start) {
				podmanAPI(sock, http.MethodDelete, "/libpod/containers/"+c.ID+"?force=true")
			}
		}
	}
	for _, ref := range podmanTags.tags {
		podmanAPI(sock, http.MethodDelete, "/images/"+ref)
	}
	podmanTags.tags = nil
	if code, body := podmanAPI(sock, http.MethodGet, "/images/json?all=true"); code == http.StatusOK {
		var imgs []struct {
			ID       string `json:"Id"`
			RepoTags []string
			Created  int64
		}
		_ = json.Unmarshal(body, &imgs)
		sort.Slice(imgs, func(i, j int) bool { return imgs[i].Created > imgs[j].Created })
		for _, img := range imgs {
			if len(img.RepoTags) == 0 && img.Created >= start.Unix() {
				podmanAPI(sock, http.MethodDelete, "/images/"+img.ID)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------

// TestPodmanBuild: COPY + RUN with -t, --build-arg and a .dockerignore, checked in the output,
// through the API and in a container of the image.
func TestPodmanBuild(t *testing.T) {
	p := needPodman(t)
	greeting := "hi-" + token()
	dir := writeContext(t, map[string]string{
		"Dockerfile": dockerfile("ARG GREETING=default-greeting",
			"COPY . /ctx",
			`RUN echo "greeting=$GREETING"; find /ctx -type f | sort; cat /ctx/hello.txt > /copied`),
		".dockerignore": "secret.txt\n**/*.log\n!keep.log\n",
		"hello.txt":     "hello podman\n",
		"secret.txt":    strings.Repeat("not to be sent ", 100000), // 1.5 MB: the context size shows it was not sent
		"sub/a.log":     "log\n",
		"keep.log":      "kept\n",
	})
	img := p.tag()
	r := p.mybuild(dir, "--build-arg", "GREETING="+greeting, "-t", img, ".")
	if r.Code != 0 {
		t.Fatalf("mybuild against podman failed: %s", r)
	}
	if r.Stderr != "" {
		t.Errorf("stderr = %q, want nothing", r.Stderr)
	}
	for _, want := range []string{
		"STEP 4/5: COPY . /ctx\n",
		"greeting=" + greeting + "\n",
		"/ctx/.dockerignore\n/ctx/Dockerfile\n/ctx/hello.txt\n/ctx/keep.log\n",
		"Successfully tagged " + img + "\n",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.Stdout)
		}
	}
	if m := regexp.MustCompile(`Sending build context to Docker daemon +[0-9.]+kB\b`).FindStringSubmatch(r.Stdout); m == nil {
		t.Errorf("no kB-sized \"Sending build context\" line (secret.txt sent?):\n%s", r.Stdout)
	}
	for _, unwanted := range []string{"secret.txt", "a.log"} {
		if strings.Contains(r.Stdout, unwanted) {
			t.Errorf("%s is in the image although .dockerignore excludes it:\n%s", unwanted, r.Stdout)
		}
	}

	built := regexp.MustCompile(`(?m)^Successfully built ([0-9a-f]{12})$`).FindStringSubmatch(r.Stdout)
	got := p.inspect(img)
	if built == nil || !strings.HasPrefix(got.ID, "sha256:"+built[1]) {
		t.Errorf("podman says %s is %s; mybuild printed %q", img, got.ID, built)
	}
	if !strings.Contains(strings.Join(got.RepoTags, " "), img) {
		t.Errorf("RepoTags = %q, want one naming %s", got.RepoTags, img)
	}
	if got := p.run(img, "cat", "/copied"); got != "hello podman\n" {
		t.Errorf("/copied in the image = %q", got)
	}
}

// TestPodmanFailingRun: a failing RUN through podman. Podman reports no exit code in its error
// (only "exit status N" in the text), so docker, and so mybuild, exit 1 where against dockerd
// they exit N.
func TestPodmanFailingRun(t *testing.T) {
	p := needPodman(t)
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN echo out; echo err >&2; exit 3")})
	r := p.mybuild(dir, "-t", p.tag(), ".")
	// (podman's message ends in a newline, and the client adds one, as docker does)
	wantErr := "building at STEP \"RUN echo out; echo err >&2; exit 3\": while running runtime: exit status 3\n\n"
	if r.Code != 1 || r.Stderr != wantErr {
		t.Errorf("want exit 1 and stderr %q, got %s", wantErr, r)
	}
	if !strings.Contains(r.Stdout, "out\n") || !strings.Contains(r.Stdout, "err\n") {
		t.Errorf("the RUN's output is not in stdout:\n%s", r.Stdout)
	}
	if strings.Contains(r.Stdout, "Successfully") {
		t.Errorf("a failed build says it succeeded:\n%s", r.Stdout)
	}
}

// TestPodmanQuietIIDFile: -q prints what podman sends in quiet mode (the bare ID, no
// "sha256:"), --iidfile holds podman's aux ID (with "sha256:") or, with -q, the printed line.
func TestPodmanQuietIIDFile(t *testing.T) {
	needPodman(t)
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN echo noisy; echo x > /x")})
	for _, tc := range []struct {
		name    string
		args    []string
		wantOut string // %s: the 64 hex digits
		wantIID string
	}{
		{"quiet", []string{"-q"}, "%s\n", "%s\n"},
		{"plain", nil, "", "sha256:%s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := needPodman(t)
			iid := filepath.Join(t.TempDir(), "iid")
			if err := os.WriteFile(iid, []byte("stale"), 0o644); err != nil {
				t.Fatal(err)
			}
			img := p.tag()
			r := p.mybuild(dir, append(tc.args, "--iidfile", iid, "-t", img, ".")...)
			if r.Code != 0 {
				t.Fatalf("mybuild failed: %s", r)
			}
			id := strings.TrimPrefix(p.inspect(img).ID, "sha256:")
			if tc.wantOut != "" && r.Stdout != fmt.Sprintf(tc.wantOut, id) {
				t.Errorf("stdout = %q, want %q", r.Stdout, fmt.Sprintf(tc.wantOut, id))
			}
			if tc.wantOut == "" && !strings.Contains(r.Stdout, "Successfully built "+id[:12]+"\n") {
				t.Errorf("stdout lacks Successfully built %s:\n%s", id[:12], r.Stdout)
			}
			b, err := os.ReadFile(iid)
			if err != nil || string(b) != fmt.Sprintf(tc.wantIID, id) {
				t.Errorf("iidfile = %q (%v), want %q", b, err, fmt.Sprintf(tc.wantIID, id))
			}
		})
	}
}

// ---------------------------------------------------------------------------------------------
// parity with the docker CLI against podman

var (
	podmanID11       = regexp.MustCompile(`\b[0-9a-f]{11}\b`)
	podmanScratchDir = regexp.MustCompile(`/var/tmp/libpod_builder[0-9]+/`)
	logrusTime       = regexp.MustCompile(`time="[^"]*"`)
)

// podmanNormalise is normalise plus what varies in podman's output from build to build: its
// 11-digit step IDs, its scratch directory for the context, logrus timestamps, and the tags
// as a request URL in an error has them.
func podmanNormalise(s string, tags ...string) string {
	s = podmanID11.ReplaceAllString(s, "<ID11>")
	s = podmanScratchDir.ReplaceAllString(s, "/var/tmp/libpod_builder<N>/")
	s = logrusTime.ReplaceAllString(s, `time="<T>"`)
	for _, t := range tags {
		s = strings.ReplaceAll(s, url.QueryEscape(t), "<TAG>")
	}
	return normalise(s, tags...)
}

// compareRuns reports where mybuild's result m differs from docker's d once norm has replaced
// what changes from build to build.
func compareRuns(t *testing.T, d, m result, norm func(string) string) {
	t.Helper()
	if d.Code != m.Code {
		t.Errorf("exit code: docker %d, mybuild %d", d.Code, m.Code)
	}
	for _, out := range []struct{ name, d, m string }{{"stdout", d.Stdout, m.Stdout}, {"stderr", d.Stderr, m.Stderr}} {
		if diff := cmp.Diff(norm(out.d), norm(out.m)); diff != "" {
			t.Errorf("%s differs (-docker +mybuild):\n%s", out.name, diff)
		}
	}
}

func TestPodmanParity(t *testing.T) {
	needPodman(t)
	const base = "FROM base\n"
	cases := []struct {
		name    string
		files   map[string]string // Dockerfiles go through withBase
		args    []string
		iidfile bool
		check   func(t *testing.T, m result) // more checks of mybuild's result
	}{
		{name: "success: COPY, RUN, build-arg, .dockerignore", args: []string{"--build-arg", "A=from-flag"}, files: map[string]string{
			"Dockerfile": base + "ARG A=default\nCOPY . /ctx\n" +
				"RUN echo \"A=$A\"; find /ctx | sort; sleep 0.5; echo to-stderr >&2\nWORKDIR /app\nCMD [\"sh\"]\n",
			".dockerignore": "*.secret\n**/*.log\n",
			"a.secret":      "x", "sub/b.log": "x", "sub/c.txt": "c\n",
		}},
		{name: ".containerignore: sent by both clients, applied by podman", files: map[string]string{
			"Dockerfile": base + "COPY . /ctx\nRUN find /ctx | sort\n", ".containerignore": "c.txt\n", "c.txt": "c", "d.txt": "d",
		}, check: func(t *testing.T, m result) {
			if !strings.Contains(m.Stdout, "/ctx/.containerignore\n/ctx/Dockerfile\n/ctx/d.txt\n") || strings.Contains(m.Stdout, "c.txt") {
				t.Errorf("want /ctx without c.txt:\n%s", m.Stdout)
			}
		}},
		{name: "failing RUN", files: map[string]string{"Dockerfile": base + "RUN echo out; sleep 0.5; echo err >&2; exit 3\n"}},
		{name: "exit 300", files: map[string]string{"Dockerfile": base + "RUN exit 300\n"}},
		{name: "quiet", args: []string{"-q"}, files: map[string]string{"Dockerfile": base + "RUN echo noisy\n"}},
		{name: "quiet failure", args: []string{"-q"}, files: map[string]string{"Dockerfile": base + "RUN echo before; exit 5\n"}},
		{name: "iidfile", iidfile: true, files: map[string]string{"Dockerfile": base + "RUN true\n"}},
		{name: "iidfile quiet", args: []string{"-q"}, iidfile: true, files: map[string]string{"Dockerfile": base + "RUN true\n"}},
		{name: "COPY of an ignored file", files: map[string]string{
			"Dockerfile": base + "COPY secret /\n", ".dockerignore": "secret\n", "secret": "s",
		}},
		{name: "unknown instruction", files: map[string]string{"Dockerfile": base + "BOGUS x\n"}},
		// podman 4.3 answers 400 with an empty body to extrahosts (also ulimits, securityopt)
		{name: "--add-host rejected by podman", args: []string{"--add-host", "h:10.1.2.3"}, files: map[string]string{"Dockerfile": base + "RUN true\n"}},
		{name: "unknown target", args: []string{"--target", "nosuch"}, files: map[string]string{"Dockerfile": base + "RUN true\n"}},
		{name: "label, target, unused build-arg", args: []string{"--label", "a=b", "--target", "one", "--build-arg", "UNUSED=1"},
			files: map[string]string{"Dockerfile": base + "RUN echo one\nFROM base AS one\nRUN echo two\nFROM base AS two\nRUN echo three\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := needPodman(t)
			files := map[string]string{}
			for k, v := range tc.files {
				files[k] = v
				if k == "Dockerfile" {
					files[k] = withBase(v)
				}
			}
			dir := writeContext(t, files)
			iidDir := t.TempDir()
			args := func(tag, iid string) []string {
				a := append(append([]string(nil), tc.args...), "--no-cache", "-t", tag)
				if tc.iidfile {
					a = append(a, "--iidfile", iid)
				}
				return append(a, ".")
			}
			tagD, tagM := p.tag(), p.tag()
			iidD, iidM := filepath.Join(iidDir, "docker"), filepath.Join(iidDir, "mybuild")
			d := p.dockerBuild(dir, args(tagD, iidD)...)
			m := p.mybuild(dir, args(tagM, iidM)...)
			d.Stderr = stripBanner(d.Stderr) // (mybuild prints no DEPRECATED banner)
			norm := func(s string) string { return podmanNormalise(s, tagD, tagM) }
			compareRuns(t, d, m, norm)
			if tc.iidfile {
				bd, errD := os.ReadFile(iidD)
				bm, errM := os.ReadFile(iidM)
				if diff := cmp.Diff(norm(fmt.Sprintf("%q %v", bd, errD)), norm(fmt.Sprintf("%q %v", bm, errM))); diff != "" {
					t.Errorf("iidfile content and read error differ (-docker +mybuild):\n%s", diff)
				}
			}
			if tc.check != nil {
				tc.check(t, m)
			}
			if t.Failed() {
				t.Logf("docker: %s\n\nmybuild: %s", d, m)
			}
		})
	}
}
