package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/testbed"
)

// buildxConfig is a DOCKER_CONFIG of the test's own in which docker build
// is buildx (the test bed's plugin, scripts/install-refs.sh buildx): the
// BuildKit reference. config.json, when not empty, is written into it.
func buildxConfig(t *testing.T, configJSON string) string {
	t.Helper()
	dir := t.TempDir()
	if err := testbed.BuildxConfig(dir, configJSON); err != nil {
		testbed.Unavailable(t, "%v: run scripts/install-refs.sh buildx", err)
	}
	return dir
}

// vertexName is a plain-progress line that names a vertex (#3 [2/2] RUN …).
var vertexName = regexp.MustCompile(`(?m)^#\d+ (\[.*)$`)

// buildKitBoth builds a Dockerfile that only BuildKit builds (a cache
// mount) with docker build (buildx) and with mybuild, DOCKER_BUILDKIT=1,
// through the endpoint that global and env name (Engine 20.10 behind it):
// both succeed, the image is in the daemon, and both print the same
// vertices.
func buildKitBoth(t *testing.T, env, global []string) {
	t.Helper()
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN --mount=type=cache,target=/c echo through > /c/x && cat /c/x")})
	env = append([]string{"DOCKER_BUILDKIT=1"}, env...)
	names := map[string][]string{}
	for _, client := range []string{"docker", "mybuild"} {
		img := tag(t)
		// --network none: the test daemon has no bridge.
		args := append(append([]string{}, global...), "--network", "none", "--progress=plain", "-t", img, ".")
		bin := mybuildBin
		if client == "docker" {
			bin, args = referenceDocker, append(append(append([]string{}, global...), "build"), args[len(global):]...)
		}
		r := run(t, cmdSpec{Bin: bin, Args: args, Dir: dir, Env: env})
		registerOutput(t, r)
		if r.Code != 0 {
			t.Fatalf("%s failed: %s", client, r)
		}
		if id := imageID(t, img); !strings.HasPrefix(id, "sha256:") {
			t.Fatalf("%s: image %s is not in the daemon (%q)", client, img, id)
		}
		var seen []string
		for _, m := range vertexName.FindAllStringSubmatch(r.Stderr, -1) {
			if !slices.Contains(seen, m[1]) {
				seen = append(seen, m[1])
			}
		}
		slices.Sort(seen)
		names[client] = seen
	}
	if !slices.ContainsFunc(names["mybuild"], func(s string) bool { return strings.Contains(s, "RUN --mount=type=cache") }) {
		t.Errorf("mybuild's progress has no RUN vertex: %q", names["mybuild"])
	}
	if diff := cmp.Diff(names["docker"], names["mybuild"]); diff != "" {
		t.Errorf("vertices differ (-docker +mybuild):\n%s", diff)
	}
}

// TestBuildKitEndpoints: BuildKit's /grpc and /session go over every
// endpoint form the classic builder uses — TLS from flags and from a
// context, ssh through docker system dial-stdio, custom headers from
// config.json — as buildx's docker driver sends them.
func TestBuildKitEndpoints(t *testing.T) {
	needDaemon(t)
	needReference(t)

	t.Run("TLS flags", func(t *testing.T) {
		c := newTLSCerts(t)
		p := c.serve(t, 0)
		buildKitBoth(t, []string{"DOCKER_CONFIG=" + buildxConfig(t, "")}, c.flags(c.file("ca.pem"), p.host()))
		if p.verified.Load() < 2 {
			t.Errorf("the TLS proxy saw %d verified connections, want at least the builds' /grpc and /session", p.verified.Load())
		}
	})

	t.Run("TLS context", func(t *testing.T) {
		c := newTLSCerts(t)
		p := c.serve(t, 0)
		cfg := buildxConfig(t, "")
		endpoint := "host=" + p.host() + ",ca=" + c.file("ca.pem") + ",cert=" + c.file("cert.pem") + ",key=" + c.file("key.pem")
		if r := run(t, cmdSpec{Bin: referenceDocker, Env: []string{"DOCKER_CONFIG=" + cfg}, Args: []string{"context", "create", "bktls", "--docker", endpoint}}); r.Code != 0 {
			t.Fatalf("docker context create: %s", r)
		}
		buildKitBoth(t, []string{"DOCKER_CONFIG=" + cfg}, []string{"--context", "bktls"})
		if p.verified.Load() < 2 {
			t.Errorf("the TLS proxy saw %d verified connections, want at least the builds' /grpc and /session", p.verified.Load())
		}
	})

	t.Run("ssh", func(t *testing.T) {
		needSSH(t)
		s := startSSHD(t)
		env, argsLog := s.clientEnv(t)
		buildKitBoth(t, append(env, "DOCKER_CONFIG="+buildxConfig(t, "")), []string{"-H", s.host()})
		// mybuild runs ssh as docker 28.2.2 does; buildx as docker/cli v29
		// does (the remote command as one word): the same remote command.
		_, port, _ := strings.Cut(s.addr, ":")
		ours := "[-o ConnectTimeout=30][-T][-l][root][-p][" + port + "][--][127.0.0.1][docker][system][dial-stdio]"
		buildx := "[-l][root][-p][" + port + "][-o ConnectTimeout=30][-T][--][127.0.0.1][docker system dial-stdio]"
		runs := strings.Split(strings.TrimSpace(fileText(argsLog)), "\n")
		if !slices.Contains(runs, ours) || !slices.Contains(runs, buildx) {
			t.Errorf("ssh runs:\n%s\nwant mybuild's %s and buildx's %s", strings.Join(runs, "\n"), ours, buildx)
		}
		for _, r := range runs {
			if r != ours && r != buildx {
				t.Errorf("an ssh run with other arguments: %s", r)
			}
		}
	})

	// config.json's HttpHeaders go with every request mybuild makes, as
	// with the classic builder; buildx v0.38.2 sends them with none (a
	// deliberate difference, README), which the test checks too so that it
	// notices when buildx starts to.
	t.Run("custom headers", func(t *testing.T) {
		p := newCountingProxy(t, sock)
		cfg := buildxConfig(t, `{"HttpHeaders": {"X-Mybuild-E2e": "endpoint-test"}}`)
		buildKitBoth(t, []string{"DOCKER_CONFIG=" + cfg}, []string{"-H", "tcp://" + p.ln.Addr().String()})
		count := map[string]int{}
		for _, h := range p.requests() {
			line, _, _ := strings.Cut(h, "\r\n")
			client := "mybuild"
			if strings.Contains(h, "\r\nUser-Agent: moby-client/") {
				client = "buildx"
			}
			has := strings.Contains(h, "\r\nX-Mybuild-E2e: endpoint-test\r\n")
			if has != (client == "mybuild") {
				t.Errorf("%s: header sent = %v: %q", client, has, h)
			}
			for _, path := range []string{"/grpc ", "/session "} {
				if strings.Contains(line, path) {
					count[client+" "+path]++
				}
			}
		}
		for _, k := range []string{"mybuild /grpc ", "mybuild /session ", "buildx /grpc ", "buildx /session "} {
			if count[k] == 0 {
				t.Errorf("no %srequest from %s went through the proxy (%v)", strings.Fields(k)[1], strings.Fields(k)[0], count)
			}
		}
	})
}
