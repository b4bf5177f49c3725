//go:build linux

package builders

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/testbed"
)

// testCase is one invocation of both clients. In args, {who} is "tagref"
// or "tagcand" (so that their images do not meet), {out} the client's own output
// directory, {reg} and {authreg} the registries.
type testCase struct {
	name  string
	host  string   // -H for both (the daemon --load loads into)
	env   []string // more environment for both
	files map[string]string
	pre   [][]string // run first by each client, not compared (a cache to reuse)
	args  []string
	// artifact is what the run left, as compared ("" when nothing).
	artifact func(who, out string) string
	// daemons the case needs running.
	daemons []string
	// images are removed from host before each client runs ({who} as in
	// args): a layer the daemon already has loads without progress.
	images []string
	// differs, when set, replaces the comparison of a deliberate difference
	// (README): it checks each client's run itself.
	differs func(t *testing.T, ref, cand run)
}

type run struct {
	testbed.Result
	artifact string
}

const plainDockerfile = "FROM scratch\nCOPY a.txt /\nLABEL org.example=builders\n"

func runDockerfile(reg string) string {
	return "FROM " + reg + "/base:1\nRUN --mount=type=cache,target=/c echo cached >/c/x && cp /c/x /from-cache\nCOPY a.txt /\n"
}

// policyFiles: a Dockerfile.rego that denies every image, saying which.
func policyFiles(reg string) map[string]string {
	return map[string]string{
		"Dockerfile": "FROM " + reg + "/base:1\nCOPY a.txt /\n", "a.txt": "a\n",
		"Dockerfile.rego": "package docker\n\ndefault allow := false\n\nallow if input.local\n\n" +
			"deny_msg contains msg if {\n\tnot allow\n\tmsg := sprintf(\"image %s is not allowed\", [input.image.repo])\n}\n\n" +
			"decision := {\"allow\": allow, \"deny_msg\": deny_msg}\n",
	}
}

// denyAll is files with a Dockerfile.rego that denies every source.
func denyAll(files map[string]string) map[string]string {
	m := maps.Clone(files)
	m["Dockerfile.rego"] = "package docker\n\ndeny_msg contains \"nothing is allowed\"\n\ndecision := {\"allow\": false, \"deny_msg\": deny_msg}\n"
	return m
}

func TestBuilders(t *testing.T) {
	need(t)
	reg, authreg := bed.reg.Addr, bed.authReg.Addr
	open := registry{testbed.RegClient{Addr: reg}}
	withAuth := registry{testbed.RegClient{Addr: authreg, User: regUser, Pass: regPassword}}
	files := map[string]string{"Dockerfile": plainDockerfile, "a.txt": "a\n"}
	runFiles := map[string]string{"Dockerfile": runDockerfile(reg), "a.txt": "a\n"}
	keyPath := filepath.Join(bed.dir, "id_ed25519")
	if _, err := os.Stat(keyPath); err != nil {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyPath).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	cases := []testCase{
		{name: "no output warns", files: files, args: []string{"--builder", "single", "."}},
		{name: "unix socket builder", files: files, args: []string{"--builder", "sock", "."}},
		{name: "BUILDX_BUILDER", files: files, env: []string{"BUILDX_BUILDER=single"}, args: []string{"."}},
		{name: "local output", files: files, args: []string{"--builder", "single", "-o", "type=local,dest={out}/d", "."},
			artifact: func(who, out string) string { return testbed.PathView(filepath.Join(out, "d")) }},
		{name: "tar output", files: files, args: []string{"--builder", "single", "-o", "type=tar,dest={out}/x.tar", "."},
			artifact: func(who, out string) string { return testbed.TarFileView(filepath.Join(out, "x.tar")) }},
		{name: "oci output", files: files, args: []string{"--builder", "single", "-o", "type=oci,dest={out}/x.tar", "."},
			artifact: func(who, out string) string { return testbed.TarFileView(filepath.Join(out, "x.tar")) }},
		{name: "docker output", files: files, args: []string{"--builder", "single", "-o", "type=docker,dest={out}/x.tar", "-t", "app:{who}", "."},
			artifact: func(who, out string) string { return testbed.TarFileView(filepath.Join(out, "x.tar")) }},
		{name: "load into Engine 29", host: engine29, daemons: []string{engine29}, files: files,
			args: []string{"--builder", "single", "--load", "-t", "mybuild-builders:{who}", "."}, images: []string{"mybuild-builders:{who}"},
			artifact: func(who, _ string) string { return loaded(engine29, "mybuild-builders:"+who) }},
		{name: "load into Engine 20.10", host: engine20, daemons: []string{engine20}, files: files,
			args: []string{"--builder", "single", "--load", "-t", "mybuild-builders:{who}", "."}, images: []string{"mybuild-builders:{who}"},
			artifact: func(who, _ string) string { return loaded(engine20, "mybuild-builders:"+who) }},
		{name: "default-load builder", host: engine29, daemons: []string{engine29}, files: files,
			args: []string{"--builder", "loader", "-t", "mybuild-builders-dl:{who}", "."}, images: []string{"mybuild-builders-dl:{who}"},
			artifact: func(who, _ string) string { return loaded(engine29, "mybuild-builders-dl:"+who) }},
		{name: "push with RUN", files: runFiles, args: []string{"--builder", "single", "--network", "none", "--push", "-t", reg + "/app:{who}", "."},
			artifact: func(who, _ string) string { return imageView(open, "app", who) }},
		{name: "output type=image push", files: files, args: []string{"--builder", "single", "-o", "type=image,name=" + reg + "/img:{who},push=true", "."},
			artifact: func(who, _ string) string { return imageView(open, "img", who) }},
		{name: "output type=registry", files: files, args: []string{"--builder", "single", "-o", "type=registry,name=" + reg + "/regout:{who}", "."},
			artifact: func(who, _ string) string { return imageView(open, "regout", who) }},
		{name: "push without provenance", files: files, args: []string{"--builder", "single", "--provenance=false", "--push", "-t", reg + "/noprov:{who}", "."},
			artifact: func(who, _ string) string { return imageView(open, "noprov", who) }},
		{name: "two nodes, two platforms, one manifest list", files: files,
			args:     []string{"--builder", "fleet", "--platform", "linux/amd64,linux/arm64", "--push", "-t", reg + "/multi:{who}", "."},
			artifact: func(who, _ string) string { return imageView(open, "multi", who) }},
		{name: "two nodes, annotations on the index", files: files,
			args:     []string{"--builder", "fleet", "--platform", "linux/amd64,linux/arm64", "--annotation", "index:org.example.note=two", "--push", "-t", reg + "/annotated:{who}", "."},
			artifact: func(who, _ string) string { return imageView(open, "annotated", who) }},
		{name: "the arm64 node builds arm64", files: files, args: []string{"--builder", "fleet", "--platform", "linux/arm64", "-o", "type=oci,dest={out}/x.tar", "."},
			artifact: func(who, out string) string { return testbed.TarFileView(filepath.Join(out, "x.tar")) }},
		{name: "two nodes refuse an oci tar", files: files, args: []string{"--builder", "fleet", "--platform", "linux/amd64,linux/arm64", "-o", "type=oci,dest={out}/x.tar", "."}},
		{name: "two nodes cannot load a list into Engine 29", host: engine29, daemons: []string{engine29}, files: files,
			args: []string{"--builder", "fleet", "--platform", "linux/amd64,linux/arm64", "--load", "."}},
		{name: "registry cache reused by another node", files: runFiles,
			pre:  [][]string{{"--builder", "single", "--network", "none", "--cache-to", "type=registry,ref=" + reg + "/cache:{who},mode=max", "."}},
			args: []string{"--builder", "second", "--network", "none", "--cache-from", "type=registry,ref=" + reg + "/cache:{who}", "-o", "type=local,dest={out}/d", "."},
			artifact: func(who, out string) string {
				return testbed.PathView(filepath.Join(out, "d", "from-cache")) + imageView(open, "cache", who)
			}},
		{name: "local cache reused by another node", files: runFiles,
			pre:      [][]string{{"--builder", "single", "--network", "none", "--cache-to", "type=local,dest={out}/cache,mode=max", "."}},
			args:     []string{"--builder", "second", "--network", "none", "--cache-from", "type=local,src={out}/cache", "."},
			artifact: func(who, out string) string { return testbed.PathView(filepath.Join(out, "cache")) }},
		{name: "inline cache", files: runFiles,
			args:     []string{"--builder", "single", "--network", "none", "--build-arg", "BUILDKIT_INLINE_CACHE=1", "--push", "-t", reg + "/inline:{who}", "."},
			artifact: func(who, _ string) string { return imageView(open, "inline", who) }},
		{name: "secret on a remote node",
			files: map[string]string{"Dockerfile": "FROM " + reg + "/base:1\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n", "tok": "remote-secret\n"},
			args:  []string{"--builder", "single", "--network", "none", "--secret", "id=tok,src=tok", "."}},
		{name: "missing secret", files: map[string]string{"Dockerfile": "FROM " + reg + "/base:1\nRUN --mount=type=secret,id=tok,required=true cat /run/secrets/tok\n"},
			args: []string{"--builder", "single", "--network", "none", "."}},
		{name: "ssh on a remote node",
			files: map[string]string{"Dockerfile": "FROM " + reg + "/base:1\nRUN --mount=type=ssh test -S $SSH_AUTH_SOCK && echo agent\n"},
			args:  []string{"--builder", "single", "--network", "none", "--ssh", "default=" + keyPath, "."}},
		{name: "named context on a remote node",
			files:    map[string]string{"Dockerfile": "FROM scratch\nCOPY --from=extra b.txt /\n", "extra/b.txt": "b\n"},
			args:     []string{"--builder", "single", "--build-context", "extra=extra", "-o", "type=local,dest={out}/d", "."},
			artifact: func(who, out string) string { return testbed.PathView(filepath.Join(out, "d")) }},
		{name: "failing RUN", files: map[string]string{"Dockerfile": "FROM " + reg + "/base:1\nRUN echo out && exit 3\n"},
			args: []string{"--builder", "single", "--network", "none", "."}},
		{name: "credentials: pull and push with auth", files: map[string]string{"Dockerfile": "FROM " + authreg + "/base:1\nCOPY a.txt /\n", "a.txt": "a\n"},
			args:     []string{"--builder", "single", "--push", "-t", authreg + "/private:{who}", "."},
			artifact: func(who, _ string) string { return imageView(withAuth, "private", who) }},
		{name: "credentials: a credential helper", env: helperEnv(t, authreg), files: map[string]string{"Dockerfile": "FROM " + authreg + "/base:1\nCOPY a.txt /\n", "a.txt": "a\n"},
			args:     []string{"--builder", "single", "--push", "-t", authreg + "/helped:{who}", "."},
			artifact: func(who, _ string) string { return imageView(withAuth, "helped", who) }},
		{name: "credentials: none for a registry that asks", env: []string{"DOCKER_CONFIG=" + emptyConfig(t), "BUILDX_CONFIG=" + filepath.Join(bed.config, "buildx")},
			files: map[string]string{"Dockerfile": "FROM " + authreg + "/base:1\n"}, args: []string{"--builder", "single", "."}},
		{name: "Dockerfile.rego denies on a remote node", files: policyFiles(reg), args: []string{"--builder", "single", "."}},
		// FROM scratch on two nodes: the base has no arm64 image, whose
		// warning either node's step may show.
		{name: "two nodes, Dockerfile.rego denies on both", files: denyAll(files),
			args: []string{"--builder", "fleet", "--platform", "linux/amd64,linux/arm64", "--policy", "log-level=warn", "--push", "-t", reg + "/denied:{who}", "."}},
		{name: "two nodes, --policy disabled=true", files: denyAll(files),
			args:     []string{"--builder", "fleet", "--platform", "linux/amd64,linux/arm64", "--policy", "disabled=true", "--push", "-t", reg + "/undenied:{who}", "."},
			artifact: func(who, _ string) string { return imageView(open, "undenied", who) }},
		{name: "unknown builder", files: files, args: []string{"--builder", "nosuch", "."}},
		{name: "wrong CA", files: files, args: []string{"--builder", "badca", "."},
			differs: func(t *testing.T, ref, cand run) {
				if ref.Code != 1 || cand.Code != 1 {
					t.Errorf("exit codes %d (docker) and %d (mybuild), want 1 and 1", ref.Code, cand.Code)
				}
				if !strings.Contains(cand.Stderr, "certificate signed by unknown authority") || cand.Took > 10*time.Second {
					t.Errorf("mybuild took %v and does not say the CA does not match:\n%s", cand.Took, cand.Stderr)
				}
			}},
		{name: "no client certificate", files: files, args: []string{"--builder", "nocert", "."},
			differs: func(t *testing.T, ref, cand run) {
				if ref.Code != 1 || cand.Code != 1 {
					t.Errorf("exit codes %d (docker) and %d (mybuild), want 1 and 1", ref.Code, cand.Code)
				}
				if !strings.Contains(cand.Stderr, "client certificate") || cand.Took > 10*time.Second {
					t.Errorf("mybuild does not say that a client certificate is missing:\n%s", cand.Stderr)
				}
			}},
		{name: "a node that does not answer", files: files, args: []string{"--builder", "down", "."},
			differs: func(t *testing.T, ref, cand run) {
				if ref.Code != 1 || cand.Code != 1 {
					t.Errorf("exit codes %d (docker) and %d (mybuild), want 1 and 1", ref.Code, cand.Code)
				}
				if cand.Took > 25*time.Second {
					t.Errorf("mybuild waited %v for a node that does not answer, want about 20 s as buildx", cand.Took)
				}
				if !strings.Contains(cand.Stderr, "[internal] waiting for connection") || !strings.Contains(cand.Stderr, "did not answer within 20s") || !strings.Contains(cand.Stderr, "connection refused") {
					t.Errorf("mybuild's error does not name the node and why:\n%s", cand.Stderr)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			need(t, tc.daemons...)
			ctxDir := writeFiles(t, tc.files)
			ref := runClient(t, tc, ctxDir, "ref")
			cand := runClient(t, tc, ctxDir, "cand")
			if tc.differs != nil {
				tc.differs(t, ref, cand)
				return
			}
			compareRuns(t, ref, cand)
		})
	}
}

// writeFiles makes a build context of files.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	ctxDir := t.TempDir()
	if err := testbed.WriteFiles(ctxDir, files); err != nil {
		t.Fatal(err)
	}
	return ctxDir
}

// compareRuns compares what the two clients printed, exited with and left.
func compareRuns(t *testing.T, ref, cand run) {
	t.Helper()
	if ref.Code != cand.Code {
		t.Errorf("exit code: docker %d, mybuild %d", ref.Code, cand.Code)
	}
	if diff := cmp.Diff(ref.Stdout, cand.Stdout); diff != "" {
		t.Errorf("stdout (-docker +mybuild):\n%s", diff)
	}
	if diff := cmp.Diff(testbed.ParsePlain(ref.Stderr), testbed.ParsePlain(cand.Stderr)); diff != "" {
		t.Errorf("progress (-docker +mybuild):\n%s", diff)
	}
	if diff := cmp.Diff(ref.artifact, cand.artifact); diff != "" {
		t.Errorf("what the build left (-docker +mybuild):\n%s", diff)
	}
	if t.Failed() || os.Getenv("MYBUILD_BKDIFF_VERBOSE") != "" {
		if ref.artifact != cand.artifact {
			t.Logf("docker left:\n%s\nmybuild left:\n%s", ref.artifact, cand.artifact)
		}
		t.Logf("docker: exit %d\n%s", ref.Code, ref.Stderr)
		t.Logf("mybuild: exit %d\n%s", cand.Code, cand.Stderr)
	}
}

// runClient runs tc's steps with one client from a clean cache on both
// nodes, and returns its last step with who and the paths made alike.
func runClient(t *testing.T, tc testCase, ctxDir, who string) run {
	t.Helper()
	out := filepath.Join(t.TempDir(), who)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, img := range tc.images {
		for _, w := range []string{"tagref", "tagcand"} {
			_, _ = bed.docker("-H", tc.host, "rmi", "-f", strings.ReplaceAll(img, "{who}", w)) // absent is fine
		}
	}
	for _, b := range []string{"single", "second"} {
		if _, err := bed.docker("buildx", "prune", "--builder", b, "-af"); err != nil {
			t.Fatalf("prune %s: %v", b, err)
		}
	}
	client := testbed.Docker
	if who == "cand" {
		client = testbed.Mybuild(bed.mybuild)
	}
	var global []string
	if tc.host != "" {
		global = []string{"-H", tc.host}
	}
	expand := strings.NewReplacer("{who}", "tag"+who, "{out}", out).Replace
	step := func(args []string) testbed.Result {
		var a []string
		for _, s := range args {
			a = append(a, expand(s))
		}
		r, err := testbed.Run(testbed.Cmd{Bin: client.Bin, Args: client.Args(global, a), Dir: ctxDir, Env: bed.env(tc.env...)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := run{Result: testbed.Steps(t, who, step, tc.pre, tc.args)}
	if tc.artifact != nil {
		r.artifact = tc.artifact("tag"+who, out)
	}
	alike := strings.NewReplacer(out, "OUT", "tag"+who, "WHO", "docker buildx build", "mybuild").Replace
	r.Stdout, r.Stderr, r.artifact = alike(r.Stdout), alike(r.Stderr), alike(r.artifact)
	return r
}

func imageView(r registry, repo, who string) string {
	v, err := r.image(repo, who)
	if err != nil {
		return err.Error()
	}
	return v
}

// helperEnv is a docker config whose credentials for host come from a
// credential helper (docker-credential-bedtest on PATH) and buildx's store
// of the bed (BUILDX_CONFIG).
func helperEnv(t *testing.T, host string) []string {
	dir := filepath.Join(bed.dir, "helper-config")
	bin := filepath.Join(bed.dir, "helper-bin")
	_ = os.MkdirAll(dir, 0o700)
	_ = os.MkdirAll(bin, 0o755)
	script := "#!/bin/sh\ncase \"$1\" in get) read -r host; printf '{\"ServerURL\":\"%s\",\"Username\":\"" + regUser + "\",\"Secret\":\"" + regPassword + "\"}' \"$host\" ;; list) echo '{}' ;; *) exit 1 ;; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-bedtest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credHelpers":{"`+host+`":"bedtest"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Symlink(filepath.Join(bed.config, "cli-plugins"), filepath.Join(dir, "cli-plugins"))
	return []string{"DOCKER_CONFIG=" + dir, "BUILDX_CONFIG=" + filepath.Join(bed.config, "buildx"), "PATH=" + bin + ":" + os.Getenv("PATH")}
}

func emptyConfig(t *testing.T) string {
	dir := filepath.Join(bed.dir, "empty-config")
	_ = os.MkdirAll(dir, 0o700)
	_ = os.Symlink(filepath.Join(bed.config, "cli-plugins"), filepath.Join(dir, "cli-plugins"))
	return dir
}
