// Package e2e holds mybuild's end-to-end tests: the real mybuild binary against a real Docker
// daemon (scripts/test-daemon.sh prepares one), with the docker CLI used only to inspect the
// results and, in the parity tests, as the reference client.
//
// Environment:
//
//	MYBUILD_E2E=1       no daemon is a failure instead of a skip
//	MYBUILD_E2E_SOCK    the daemon's unix socket (default /var/run/docker.sock)
//	MYBUILD_E2E_IMAGE   the base image (default mybuild-test/busybox:latest)
//	MYBUILD_E2E_KEEP=1  keep the images and containers the tests made (for debugging)
package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

const (
	defaultSock  = "/var/run/docker.sock"
	defaultImage = "mybuild-test/busybox:latest"
	// referenceDocker is the docker CLI 28.2.2 the project mirrors. Debian's docker.io also
	// ships a /usr/bin/docker (20.10): a PATH lookup might find that one, so it is named.
	referenceDocker = "/usr/local/bin/docker"
	// cmdTimeout bounds one mybuild or docker invocation.
	cmdTimeout = 3 * time.Minute
)

var (
	// mybuildBin is the binary under test, built by TestMain.
	mybuildBin string
	// dockerBin inspects results: the reference client when present, else any docker client.
	dockerBin string
	// haveReference is whether referenceDocker exists (the parity tests need it).
	haveReference bool
	// sock is the daemon's socket path; host is the -H value for it.
	sock, host string
	// baseImage is the imported busybox image every Dockerfile starts FROM.
	baseImage string
	// skipReason is set when the tests cannot run and should skip (not MYBUILD_E2E=1).
	skipReason string
	// configDir is an empty DOCKER_CONFIG shared by both clients, so neither reads the
	// machine's credentials or contexts.
	configDir string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	strict := os.Getenv("MYBUILD_E2E") == "1"
	sock = envOr("MYBUILD_E2E_SOCK", defaultSock)
	host = "unix://" + sock
	baseImage = envOr("MYBUILD_E2E_IMAGE", defaultImage)

	tmp, err := os.MkdirTemp("", "mybuild-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	configDir = filepath.Join(tmp, "docker-config")
	if err := os.Mkdir(configDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}

	if err := pingDaemon(sock); err != nil {
		msg := fmt.Sprintf("no Docker daemon answers /_ping on %s (%v); run scripts/test-daemon.sh as root", sock, err)
		if strict {
			fmt.Fprintln(os.Stderr, "e2e: FAIL (MYBUILD_E2E=1):", msg)
			return 1
		}
		skipReason = msg + " (set MYBUILD_E2E=1 to make this a failure)"
		return m.Run()
	}

	if _, err := os.Stat(referenceDocker); err == nil {
		dockerBin, haveReference = referenceDocker, true
	} else if p, err := exec.LookPath("docker"); err == nil {
		dockerBin = p
	} else {
		fmt.Fprintln(os.Stderr, "e2e: FAIL: a daemon answers but no docker CLI was found to inspect results")
		return 1
	}

	if out, err := exec.Command(dockerBin, "-H", host, "image", "inspect", "-f", "{{.Id}}", baseImage).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("base image %s is missing (%s); run scripts/test-daemon.sh", baseImage, strings.TrimSpace(string(out)))
		if strict {
			fmt.Fprintln(os.Stderr, "e2e: FAIL (MYBUILD_E2E=1):", msg)
			return 1
		}
		skipReason = msg
		return m.Run()
	}

	if mybuildBin, err = testbed.BuildMybuild(tmp); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	return m.Run()
}

// needDaemon skips t when the environment cannot run the e2e tests (and MYBUILD_E2E is unset).
func needDaemon(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// needReference skips t when the reference docker CLI is missing, except under MYBUILD_E2E=1.
func needReference(t testing.TB) {
	t.Helper()
	if !haveReference {
		testbed.Unavailable(t, "the reference docker CLI %s is not installed", referenceDocker)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// wantAll reports each of wants that got (the stream named what) lacks.
func wantAll(t tb, what, got string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, got)
		}
	}
}

func pingDaemon(sock string) error { return testbed.Ping("unix://" + sock) }

// result is one finished command.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout ---\n%s\n--- stderr ---\n%s", r.Code, r.Stdout, r.Stderr)
}

// cmdSpec is one command to run.
type cmdSpec struct {
	Bin   string
	Args  []string
	Dir   string
	Stdin []byte
	Env   []string // added to the base environment
}

// baseEnv is the environment every mybuild and docker command gets: the test's own minus any
// DOCKER_* and *_proxy variable, plus the legacy-builder switch and the empty client config.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "DOCKER_") || strings.HasPrefix(k, "BUILDKIT_") ||
			strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue // proxies: the URL-context tests fetch from loopback
		}
		env = append(env, kv)
	}
	return append(env, "DOCKER_BUILDKIT=0", "DOCKER_CONFIG="+configDir)
}

func run(t tb, c cmdSpec) result {
	t.Helper()
	r, err := testbed.Run(testbed.Cmd{Bin: c.Bin, Args: c.Args, Dir: c.Dir, Env: append(baseEnv(), c.Env...), Stdin: c.Stdin, Timeout: cmdTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return result{Stdout: r.Stdout, Stderr: r.Stderr, Code: r.Code}
}

// mybuild runs the binary under test against the test daemon, in dir.
func mybuild(t tb, dir string, args ...string) result {
	t.Helper()
	r := run(t, cmdSpec{Bin: mybuildBin, Args: append([]string{"-H", host}, args...), Dir: dir})
	registerOutput(t, r)
	return r
}

// docker runs the inspection client; it fails the test when docker fails.
func docker(t tb, args ...string) string {
	t.Helper()
	r := run(t, cmdSpec{Bin: dockerBin, Args: append([]string{"-H", host}, args...)})
	if r.Code != 0 {
		t.Fatalf("docker %q failed: %s", args, r)
	}
	return r.Stdout
}

// dockerRun runs cmd in a throw-away container of img, without network, and returns its stdout.
func dockerRun(t tb, img string, cmd ...string) string {
	t.Helper()
	return docker(t, append([]string{"run", "--rm", "--network", "none", img}, cmd...)...)
}

// imageID is `docker image inspect -f {{.Id}} ref`.
func imageID(t tb, ref string) string {
	t.Helper()
	return strings.TrimSpace(docker(t, "image", "inspect", "-f", "{{.Id}}", ref))
}

// ---------------------------------------------------------------------------------------------
// names and contexts

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// tag returns a fresh image name mybuild-e2e/<test>-<random>:latest and removes that image
// (and the intermediate images of the builds that made it) when the test ends.
func tag(t tb) string {
	t.Helper()
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 60 {
		name = name[:60]
	}
	ref := fmt.Sprintf("mybuild-e2e/%s-%s:latest", name, randHex(4))
	cleanupFor(t).tags = append(cleanupFor(t).tags, ref)
	return ref
}

// writeContext makes a build context directory from name → content ("dir/" entries make
// directories). Every Dockerfile should contain a unique token (see token) so that no cache
// hit ever links these builds to images from outside this test.
func writeContext(t tb, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := testbed.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	return dir
}

// token is a per-test random word to put into Dockerfiles (in a LABEL or an echo), so that the
// daemon's build cache never matches a build from another test or another run.
func token() string { return "tok" + randHex(5) }

// ---------------------------------------------------------------------------------------------
// cleanup: the daemon is shared (other people may build on it), so remove only what these
// tests made: their tags, and the containers and untagged intermediate images their builds
// printed.

type cleanup struct {
	mu         sync.Mutex
	tags       []string
	containers []string // "Running in <id>"
	images     []string // " ---> <id>" in build order
}

var (
	cleanupsMu sync.Mutex
	cleanups   = map[tb]*cleanup{}
)

var (
	runningIn = regexp.MustCompile(`Running in ([0-9a-f]{12})`)
	stepImage = regexp.MustCompile(`(?m)^ ---> ([0-9a-f]{12})$`)
)

func cleanupFor(t tb) *cleanup {
	cleanupsMu.Lock()
	defer cleanupsMu.Unlock()
	if c, ok := cleanups[t]; ok {
		return c
	}
	c := &cleanup{}
	cleanups[t] = c
	t.Cleanup(func() {
		cleanupsMu.Lock()
		delete(cleanups, t)
		cleanupsMu.Unlock()
		c.run(t)
	})
	return c
}

// registerOutput records the containers and images a build printed, for removal at the end.
func registerOutput(t tb, r result) {
	c := cleanupFor(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, out := range []string{r.Stdout, r.Stderr} {
		for _, m := range runningIn.FindAllStringSubmatch(out, -1) {
			c.containers = append(c.containers, m[1])
		}
		for _, m := range stepImage.FindAllStringSubmatch(out, -1) {
			c.images = append(c.images, m[1])
		}
	}
}

func (c *cleanup) run(t tb) {
	if os.Getenv("MYBUILD_E2E_KEEP") == "1" || dockerBin == "" {
		return
	}
	quiet := func(args ...string) (string, bool) {
		cmd := exec.Command(dockerBin, append([]string{"-H", host}, args...)...)
		cmd.Env = baseEnv()
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.containers {
		quiet("rm", "-f", id) // a failed RUN leaves its container behind, like docker
	}
	for _, ref := range c.tags {
		quiet("rmi", ref) // also deletes its untagged parents
	}
	// What remains: intermediate images of failed builds. Newest first (children before
	// parents); never an image that has a tag (the base image appears as FROM's " ---> id"),
	// and never with -f (one still used as a parent stays).
	for i := len(c.images) - 1; i >= 0; i-- {
		id := c.images[i]
		tags, ok := quiet("image", "inspect", "-f", "{{len .RepoTags}}", id)
		if !ok || tags != "0" {
			continue
		}
		quiet("rmi", id)
	}
}

// tb is what the helpers need from a *testing.T (parity_test.go's recorder stands in for one).
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	Logf(format string, args ...any)
	Failed() bool
	TempDir() string
	Cleanup(func())
	Name() string
}
