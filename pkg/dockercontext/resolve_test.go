package dockercontext

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestContextName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      Inputs
		env     map[string]string
		want    string
		wantErr error // from Resolve
	}{
		{name: "nothing set", want: "default"},
		{name: "current context", in: Inputs{CurrentContext: "cur"}, want: "cur"},
		{name: "DOCKER_CONTEXT beats currentContext", in: Inputs{CurrentContext: "cur"}, env: map[string]string{"DOCKER_CONTEXT": "envctx"}, want: "envctx"},
		{name: "DOCKER_HOST beats DOCKER_CONTEXT", in: Inputs{CurrentContext: "cur"}, env: map[string]string{"DOCKER_CONTEXT": "envctx", "DOCKER_HOST": "tcp://h:1"}, want: "default"},
		{name: "empty DOCKER_HOST is ignored", in: Inputs{CurrentContext: "cur"}, env: map[string]string{"DOCKER_HOST": ""}, want: "cur"},
		{name: "empty DOCKER_CONTEXT is ignored", in: Inputs{CurrentContext: "cur"}, env: map[string]string{"DOCKER_CONTEXT": ""}, want: "cur"},
		{name: "-H beats everything but --context", in: Inputs{Hosts: []string{"tcp://h:2"}, CurrentContext: "cur"}, env: map[string]string{"DOCKER_CONTEXT": "envctx", "DOCKER_HOST": "tcp://h:1"}, want: "default"},
		{name: "empty -H value still selects default", in: Inputs{Hosts: []string{""}, CurrentContext: "cur"}, want: "default"},
		{name: "--context beats env and config", in: Inputs{ContextFlag: "flag", CurrentContext: "cur"}, env: map[string]string{"DOCKER_CONTEXT": "envctx", "DOCKER_HOST": "tcp://h:1"}, want: "flag"},
		{name: "--context default", in: Inputs{ContextFlag: "default", CurrentContext: "cur"}, want: "default"},
		{name: "DOCKER_CONTEXT default", in: Inputs{CurrentContext: "cur"}, env: map[string]string{"DOCKER_CONTEXT": "default"}, want: "default"},
		{name: "--context with -H", in: Inputs{ContextFlag: "flag", Hosts: []string{"tcp://h:2"}}, want: "flag", wantErr: ErrConflictingOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.in
			in.Env = mapEnv(tc.env)
			in.ConfigDir = t.TempDir()
			if got := ContextName(in); got != tc.want {
				t.Errorf("ContextName() = %q, want %q", got, tc.want)
			}
			ep, err := Resolve(in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve() error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if tc.want != DefaultContextName {
				// The store is empty: a named context is not found.
				var nf interface{ NotFound() } // errdefs' NotFound, as docker's
				if !errors.As(err, &nf) || !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("Resolve() error = %v, want a not-found error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if ep.ContextName != DefaultContextName {
				t.Errorf("Resolve().ContextName = %q, want default", ep.ContextName)
			}
		})
	}
}

func TestResolveDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      Inputs
		env     map[string]string
		want    Endpoint
		wantErr string
	}{
		{name: "nothing set: empty host", want: Endpoint{ContextName: "default"}},
		{name: "DOCKER_HOST raw", env: map[string]string{"DOCKER_HOST": " 127.0.0.1:2375 "}, want: Endpoint{Host: " 127.0.0.1:2375 ", ContextName: "default"}},
		{name: "-H raw", in: Inputs{Hosts: []string{"foo://bar"}}, want: Endpoint{Host: "foo://bar", ContextName: "default"}},
		{name: "-H beats DOCKER_HOST", in: Inputs{Hosts: []string{"tcp://a:1"}}, env: map[string]string{"DOCKER_HOST": "tcp://b:2"}, want: Endpoint{Host: "tcp://a:1", ContextName: "default"}},
		{name: "--context default uses DOCKER_HOST", in: Inputs{ContextFlag: "default"}, env: map[string]string{"DOCKER_HOST": "tcp://b:2"}, want: Endpoint{Host: "tcp://b:2", ContextName: "default"}},
		{name: "DOCKER_CONTEXT default without DOCKER_HOST", env: map[string]string{"DOCKER_CONTEXT": "default"}, want: Endpoint{ContextName: "default"}},
		{name: "two -H", in: Inputs{Hosts: []string{"tcp://a:1", "tcp://a:1"}}, wantErr: "Specify only one -H"},
		{name: "two -H and --context", in: Inputs{ContextFlag: "x", Hosts: []string{"tcp://a:1", "tcp://a:2"}}, wantErr: "conflicting options: cannot specify both --host and --context"},
		{name: "--context default and -H", in: Inputs{ContextFlag: "default", Hosts: []string{"tcp://a:1"}}, wantErr: "conflicting options: cannot specify both --host and --context"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.in
			in.Env = mapEnv(tc.env)
			in.ConfigDir = t.TempDir()
			got, err := Resolve(in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Resolve() error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveErrorMessage(t *testing.T) {
	t.Parallel()
	if got, want := ResolveErrorMessage(ErrConflictingOptions), "conflicting options: cannot specify both --host and --context"; got != want {
		t.Errorf("ResolveErrorMessage(conflict) = %q, want %q", got, want)
	}
	_, err := Resolve(Inputs{Hosts: []string{"a", "b"}, Env: mapEnv(nil)})
	if got, want := ResolveErrorMessage(err), "Failed to initialize: unable to resolve docker endpoint: Specify only one -H"; got != want {
		t.Errorf("ResolveErrorMessage(two -H) = %q, want %q", got, want)
	}
}

// TestResolveFlagErrorsMatchDocker checks the flag errors against the
// docker CLI's output.
func TestResolveFlagErrorsMatchDocker(t *testing.T) {
	needDocker(t)
	t.Parallel()
	tests := []struct {
		name string
		in   Inputs
	}{
		{name: "conflict", in: Inputs{ContextFlag: "foo", Hosts: []string{"tcp://127.0.0.1:1"}}},
		{name: "two -H", in: Inputs{Hosts: []string{"tcp://127.0.0.1:1", "tcp://127.0.0.1:2"}}},
		{name: "unknown context from flag", in: Inputs{ContextFlag: "nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := filepath.Join(t.TempDir(), "cfg")
			in := tc.in
			in.ConfigDir = cfg
			in.Env = mapEnv(nil)
			_, err := Resolve(in)
			if err == nil {
				t.Fatal("Resolve() succeeded, want an error")
			}
			var global []string
			if in.ContextFlag != "" {
				global = append(global, "--context", in.ContextFlag)
			}
			for _, h := range in.Hosts {
				global = append(global, "-H", h)
			}
			stderr := dockerBuildStderr(t, dockerEnv(cfg), global...)
			if want := ResolveErrorMessage(err); !hasLine(stderr, want) {
				t.Errorf("docker stderr lacks the line %q:\n%s", want, stderr)
			}
		})
	}
}

// TestResolveDockerCreatedStore reads contexts written by the real
// `docker context create`.
func TestResolveDockerCreatedStore(t *testing.T) {
	needDocker(t)
	t.Parallel()
	root := t.TempDir()
	cfg := filepath.Join(root, "cfg")
	env := dockerEnv(cfg)
	pki := newTestPKI(t)
	pem := filepath.Join(root, "pem")
	caFile := writeFile(t, pem, "my-ca.crt", pki.CA)
	certFile := writeFile(t, pem, "my-cert.crt", pki.Cert)
	keyFile := writeFile(t, pem, "my-key.key", pki.Key)

	mustDocker(t, env, "context", "create", "plain", "--docker", "host=tcp://127.0.0.1:1")
	mustDocker(t, env, "context", "create", "skip", "--description", "skips verification", "--docker", "host=tcp://127.0.0.1:2,skip-tls-verify=true")
	mustDocker(t, env, "context", "create", "tls-full", "--docker", "host=tcp://127.0.0.1:3,ca="+caFile+",cert="+certFile+",key="+keyFile)
	mustDocker(t, env, "context", "create", "tls-ca", "--docker", "host=tcp://127.0.0.1:4,ca="+caFile)
	mustDocker(t, env, "context", "create", "over-ssh", "--docker", "host=ssh://me@example.com:2222/run/user/1000/docker.sock")
	mustDocker(t, env, "context", "create", "unix-sock", "--docker", "host=unix:///tmp/some.sock")
	// docker context use writes config.json's currentContext.
	mustDocker(t, env, "context", "use", "plain")

	tests := []struct {
		name string
		in   Inputs
		env  map[string]string
		want Endpoint
	}{
		{name: "plain", in: Inputs{ContextFlag: "plain"}, want: Endpoint{Host: "tcp://127.0.0.1:1", ContextName: "plain"}},
		{name: "skip-tls-verify", in: Inputs{ContextFlag: "skip"}, want: Endpoint{Host: "tcp://127.0.0.1:2", SkipTLSVerify: true, ContextName: "skip"}},
		{name: "tls material", in: Inputs{ContextFlag: "tls-full"}, want: Endpoint{Host: "tcp://127.0.0.1:3", CA: pki.CA, Cert: pki.Cert, Key: pki.Key, ContextName: "tls-full", HasTLSData: true}},
		{name: "ca only", in: Inputs{ContextFlag: "tls-ca"}, want: Endpoint{Host: "tcp://127.0.0.1:4", CA: pki.CA, ContextName: "tls-ca", HasTLSData: true}},
		{name: "ssh", env: map[string]string{"DOCKER_CONTEXT": "over-ssh"}, want: Endpoint{Host: "ssh://me@example.com:2222/run/user/1000/docker.sock", ContextName: "over-ssh"}},
		{name: "unix", in: Inputs{CurrentContext: "unix-sock"}, want: Endpoint{Host: "unix:///tmp/some.sock", ContextName: "unix-sock"}},
		{name: "currentContext from config.json", in: Inputs{CurrentContext: readCurrentContext(t, cfg)}, want: Endpoint{Host: "tcp://127.0.0.1:1", ContextName: "plain"}},
		{name: "DOCKER_HOST overrides the current context", in: Inputs{CurrentContext: "plain"}, env: map[string]string{"DOCKER_HOST": "tcp://9.9.9.9:9"}, want: Endpoint{Host: "tcp://9.9.9.9:9", ContextName: "default"}},
		{name: "config dir from DOCKER_CONFIG", in: Inputs{ContextFlag: "plain", ConfigDir: "-"}, env: map[string]string{"DOCKER_CONFIG": cfg}, want: Endpoint{Host: "tcp://127.0.0.1:1", ContextName: "plain"}},
		{name: "config dir from HOME", in: Inputs{ContextFlag: "plain", ConfigDir: "-"}, env: map[string]string{"HOME": root + "/fakehome"}, want: Endpoint{Host: "tcp://127.0.0.1:1", ContextName: "plain"}},
	}
	if err := os.MkdirAll(filepath.Join(root, "fakehome"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cfg, filepath.Join(root, "fakehome", ".docker")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.in
			switch in.ConfigDir {
			case "":
				in.ConfigDir = cfg
			case "-":
				in.ConfigDir = ""
			}
			in.Env = mapEnv(tc.env)
			got, err := Resolve(in)
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("TLSConfig of the TLS context", func(t *testing.T) {
		t.Parallel()
		ep, err := Resolve(Inputs{ConfigDir: cfg, ContextFlag: "tls-full", Env: mapEnv(nil)})
		if err != nil {
			t.Fatal(err)
		}
		conf, err := ep.TLSConfig()
		if err != nil {
			t.Fatalf("TLSConfig() error = %v", err)
		}
		if conf == nil || conf.RootCAs == nil || len(conf.Certificates) != 1 || conf.InsecureSkipVerify {
			t.Errorf("TLSConfig() = %+v, want RootCAs, one certificate, verification on", conf)
		}
	})
}

func readCurrentContext(t *testing.T, cfg string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cfg, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A tiny extraction is enough here; the caller owns config.json parsing.
	const key = `"currentContext": "`
	i := strings.Index(string(data), key)
	if i < 0 {
		t.Fatalf("no currentContext in config.json: %s", data)
	}
	rest := string(data[i+len(key):])
	return rest[:strings.IndexByte(rest, '"')]
}

// storeEntry writes a context store entry by hand.
type storeEntry struct {
	meta *string           // meta.json content; nil: none
	tls  map[string][]byte // files under tls/<id>/, by slash path
	// setup runs after meta and tls were written.
	setup func(t *testing.T, cfg, name string)
}

func str(s string) *string { return &s }

func (e storeEntry) write(t *testing.T, cfg, name string) {
	t.Helper()
	if e.meta != nil {
		writeFile(t, filepath.Dir(MetaPath(cfg, name)), "meta.json", []byte(*e.meta))
	}
	for p, data := range e.tls {
		full := filepath.Join(TLSDir(cfg, name), filepath.FromSlash(p))
		writeFile(t, filepath.Dir(full), filepath.Base(full), data)
	}
	if e.setup != nil {
		e.setup(t, cfg, name)
	}
}

// TestResolveStore covers hand-written store entries, and compares each
// error (and warning) with the docker CLI's output when it is available.
func TestResolveStore(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	okMeta := str(`{"Name":"n","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1","SkipTLSVerify":false}}}`)
	tests := []struct {
		name  string
		entry storeEntry
		want  Endpoint
		// wantErr may use {meta} and {tls} for the context's paths.
		wantErr string
	}{
		{name: "nope", wantErr: `context "nope": context not found: open {meta}: no such file or directory`},
		{name: "bad-json", entry: storeEntry{meta: str(`{not json`)}, wantErr: `context "bad-json": parsing {meta}: invalid character 'n' looking for beginning of object key string`},
		{name: "empty-file", entry: storeEntry{meta: str(``)}, wantErr: `context "empty-file": parsing {meta}: unexpected end of JSON input`},
		{name: "trailing", entry: storeEntry{meta: str(`{"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1"}}} x`)}, wantErr: `context "trailing": parsing {meta}: invalid character 'x' after top-level value`},
		{name: "host-number", entry: storeEntry{meta: str(`{"Endpoints":{"docker":{"Host":5}}}`)}, wantErr: `context "host-number": parsing {meta}: json: cannot unmarshal number into Go struct field EndpointMetaBase.Host of type string`},
		{name: "skip-string", entry: storeEntry{meta: str(`{"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1","SkipTLSVerify":"yes"}}}`)}, wantErr: `context "skip-string": parsing {meta}: json: cannot unmarshal string into Go struct field EndpointMetaBase.SkipTLSVerify of type bool`},
		{name: "endpoints-string", entry: storeEntry{meta: str(`{"Endpoints":"x"}`)}, wantErr: `context "endpoints-string": parsing {meta}: json: cannot unmarshal string into Go struct field untypedContextMetadata.endpoints of type map[string]json.RawMessage`},
		{name: "metadata-number", entry: storeEntry{meta: str(`{"Metadata":5,"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1"}}}`)}, wantErr: `context "metadata-number": parsing {meta}: json: cannot unmarshal number into Go value of type map[string]interface {}`},
		{name: "other-endpoint-number", entry: storeEntry{meta: str(`{"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1"},"kubernetes":7}}`)}, wantErr: `context "other-endpoint-number": parsing {meta}: json: cannot unmarshal number into Go value of type map[string]interface {}`},
		{name: "no-docker-endpoint", entry: storeEntry{meta: str(`{"Endpoints":{"other":{"Host":"x"}}}`)}, wantErr: `cannot find docker endpoint in context`},
		{name: "null-file", entry: storeEntry{meta: str(`null`)}, wantErr: `cannot find docker endpoint in context`},
		{name: "null-docker-endpoint", entry: storeEntry{meta: str(`{"Endpoints":{"docker":null}}`)}, wantErr: `endpoint "docker" is not of type EndpointMeta`},
		{name: "meta-is-dir", entry: storeEntry{setup: func(t *testing.T, cfg, name string) {
			if err := os.MkdirAll(MetaPath(cfg, name), 0o755); err != nil {
				t.Fatal(err)
			}
		}}, wantErr: `context "meta-is-dir": read {meta}: is a directory`},
		{name: "tls-dangling", entry: storeEntry{meta: okMeta, tls: map[string][]byte{"docker/ca.pem": pki.CA}, setup: func(t *testing.T, cfg, name string) {
			if err := os.Symlink("/nonexistent/cert.pem", filepath.Join(TLSDir(cfg, name), "docker", "cert.pem")); err != nil {
				t.Fatal(err)
			}
		}}, wantErr: `failed to retrieve TLS data (cert.pem) for context "tls-dangling": TLS data for tls-dangling/docker/cert.pem does not exist`},
		{name: "tls-file-is-dir-link", entry: storeEntry{meta: okMeta, setup: func(t *testing.T, cfg, name string) {
			dir := filepath.Join(TLSDir(cfg, name), "docker")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(os.TempDir(), filepath.Join(dir, "cert.pem")); err != nil {
				t.Fatal(err)
			}
		}}, wantErr: `failed to retrieve TLS data (cert.pem) for context "tls-file-is-dir-link": failed to read TLS data for endpoint docker: read {tls}/docker/cert.pem: is a directory`},
		{name: "tls-dir-is-file", entry: storeEntry{meta: okMeta, setup: func(t *testing.T, cfg, name string) {
			writeFile(t, filepath.Dir(TLSDir(cfg, name)), filepath.Base(TLSDir(cfg, name)), nil)
		}}, wantErr: `failed to retrieve TLS files for context "tls-dir-is-file": failed to list TLS files for context tls-dir-is-file: open {tls}: not a directory`},
		{name: "lowercase-keys", entry: storeEntry{meta: str(`{"name":"x","endpoints":{"docker":{"host":"tcp://127.0.0.1:1","skiptlsverify":true}}}`)},
			want: Endpoint{Host: "tcp://127.0.0.1:1", SkipTLSVerify: true, ContextName: "lowercase-keys"}},
		{name: "empty-docker-endpoint", entry: storeEntry{meta: str(`{"Endpoints":{"docker":{}}}`)}, want: Endpoint{ContextName: "empty-docker-endpoint"}},
		{name: "tls-unknown-file", entry: storeEntry{meta: okMeta, tls: map[string][]byte{"docker/ca.pem": pki.CA, "docker/extra.txt": []byte("x"), "other/ca.pem": []byte("ignored")}},
			want: Endpoint{Host: "tcp://127.0.0.1:1", CA: pki.CA, ContextName: "tls-unknown-file", HasTLSData: true, Warnings: []string{"unknown file in context tls-unknown-file TLS bundle: extra.txt"}}},
		{name: "tls-empty-docker-dir", entry: storeEntry{meta: okMeta, setup: func(t *testing.T, cfg, name string) {
			if err := os.MkdirAll(filepath.Join(TLSDir(cfg, name), "docker", "subdir"), 0o700); err != nil {
				t.Fatal(err)
			}
		}}, want: Endpoint{Host: "tcp://127.0.0.1:1", ContextName: "tls-empty-docker-dir", HasTLSData: true}},
		{name: "tls-only-other-endpoint", entry: storeEntry{meta: okMeta, tls: map[string][]byte{"kubernetes/ca.pem": pki.CA}},
			want: Endpoint{Host: "tcp://127.0.0.1:1", ContextName: "tls-only-other-endpoint"}},
	}
	_, dockerErr := os.Stat(dockerBin)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := filepath.Join(t.TempDir(), "cfg")
			tc.entry.write(t, cfg, tc.name)
			got, err := Resolve(Inputs{ConfigDir: cfg, ContextFlag: tc.name, Env: mapEnv(nil)})
			if tc.wantErr != "" {
				want := strings.NewReplacer("{meta}", MetaPath(cfg, tc.name), "{tls}", TLSDir(cfg, tc.name)).Replace(tc.wantErr)
				if err == nil || err.Error() != want {
					t.Fatalf("Resolve() error = %v\nwant %s", err, want)
				}
			} else {
				if err != nil {
					t.Fatalf("Resolve() error = %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
				}
			}
			// Differential check against docker, where it fails before
			// contacting any daemon or reports a warning.
			if dockerErr != nil || (err == nil && len(got.Warnings) == 0) {
				return
			}
			stderr := dockerBuildStderr(t, dockerEnv(cfg), "--context", tc.name)
			if err != nil {
				if want := ResolveErrorMessage(err); !hasLine(stderr, want) {
					t.Errorf("docker stderr lacks the line %q:\n%s", want, stderr)
				}
			}
			for _, w := range got.Warnings {
				if !strings.Contains(stderr, `level=warning msg="`+w+`"`) {
					t.Errorf("docker stderr lacks the warning %q:\n%s", w, stderr)
				}
			}
		})
	}
}
