//go:build linux

package builders

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/buildkit"
	"github.com/mybuild/mybuild/internal/testbed"
	"github.com/mybuild/mybuild/pkg/buildxstore"
	"github.com/mybuild/mybuild/pkg/engine"
)

// createRecorder is a daemon with no container, whose image pull fails and
// whose local image is there: a client booting a docker-container builder
// then creates its container. It records what the client asks for and
// refuses the create, so that nothing more happens.
type createRecorder struct {
	mu     sync.Mutex
	pulls  []string
	create map[string]any // the named create's body, zero values dropped
	name   string
}

var apiVersion = regexp.MustCompile(`^/v[0-9.]+`)

func (r *createRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p := apiVersion.ReplaceAllString(req.URL.Path, "")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Api-Version", "1.41")
	w.Header().Set("Ostype", "linux")
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	switch {
	case p == "/_ping":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "OK")
	case p == "/version":
		_, _ = io.WriteString(w, `{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24","Os":"linux","Arch":"amd64"}`)
	case p == "/info":
		_, _ = io.WriteString(w, `{"CgroupDriver":"cgroupfs","SecurityOptions":["name=seccomp,profile=default"],"OSType":"linux","Architecture":"x86_64"}`)
	case strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/json"):
		fail(http.StatusNotFound, "No such container: "+strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/json"))
	case p == "/images/create":
		r.pulls = append(r.pulls, req.URL.Query().Encode())
		fail(http.StatusInternalServerError, "no registry here")
	case strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/json"):
		_, _ = io.WriteString(w, `{"Id":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`)
	case p == "/containers/create" && req.URL.Query().Get("name") != "":
		var v map[string]any
		_ = json.Unmarshal(body, &v)
		r.create, r.name = nonZero(v).(map[string]any), req.URL.Query().Get("name")
		fail(http.StatusInternalServerError, "recorded")
	default: // buildx's probe for GPUs among them: it fails, as without GPUs
		fail(http.StatusInternalServerError, "not here")
	}
}

// nonZero drops the JSON zero values docker's structs send and a map
// leaves out: the daemon reads both alike.
func nonZero(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e = nonZero(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		for _, e := range x {
			if nonZero(e) != nil {
				return x
			}
		}
		return nil
	case string:
		if x == "" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	}
	return v
}

func serveRecorder(t *testing.T) (*createRecorder, string) {
	rec := &createRecorder{}
	return rec, testbed.ServeUnix(t, rec)
}

// The container a docker-container builder boots when it has none: what
// buildx's `docker buildx build` asks the daemon to create, mybuild asks.
func TestContainerDriverCreate(t *testing.T) {
	need(t)
	cases := []struct {
		name string
		opts []string // buildx create's --driver-opt and --buildkitd-flags
	}{
		{name: "defaults"},
		{name: "driver options", opts: []string{"--driver-opt", "image=mybuild-test/bk:1,network=host,env.FOO=bar,cgroup-parent=/bk,memory=1g,cpu-shares=512,restart-policy=on-failure:3",
			"--buildkitd-flags", "--debug --oci-worker-gc=false"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refRec, refHost := serveRecorder(t)
			cfg := filepath.Join(t.TempDir(), "cfg")
			_ = os.MkdirAll(cfg, 0o700)
			_ = os.Symlink(filepath.Join(bed.config, "cli-plugins"), filepath.Join(cfg, "cli-plugins"))
			env := append(bed.env("DOCKER_CONFIG="+cfg, "DOCKER_HOST="+refHost), "BUILDX_NO_DEFAULT_ATTESTATIONS=1")
			create := exec.Command(testbed.Docker.Bin, append([]string{"buildx", "create", "--driver", "docker-container", "--name", "rec", "--node", "rec0"}, tc.opts...)...)
			create.Env = env
			if out, err := create.CombinedOutput(); err != nil {
				t.Fatalf("buildx create: %v\n%s", err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			build := exec.CommandContext(ctx, testbed.Docker.Bin, "buildx", "build", "--builder", "rec", writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\n"}))
			build.Env = env
			out, err := build.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "recorded") {
				t.Fatalf("buildx build did not stop at the create: %v\n%s", err, out)
			}
			ng, err := buildxstore.Open(filepath.Join(cfg, "buildx")).NodeGroup("rec")
			if err != nil {
				t.Fatal(err)
			}
			candRec, candHost := serveRecorder(t)
			c, err := engine.New(engine.Config{Host: candHost})
			if err != nil {
				t.Fatal(err)
			}
			sn := ng.Nodes[0]
			n, err := buildkit.ContainerNode(c, sn.Name, sn.Platforms, sn.DriverOpts, sn.BuildkitdFlags, sn.Files)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.Dial(ctx); err == nil || !strings.Contains(err.Error(), "recorded") {
				t.Fatalf("mybuild did not stop at the create: %v", err)
			}
			if refRec.name != "buildx_buildkit_rec0" || candRec.name != refRec.name {
				t.Errorf("container names: buildx %q, mybuild %q", refRec.name, candRec.name)
			}
			if diff := cmp.Diff(refRec.create, candRec.create); diff != "" {
				t.Errorf("create request (-buildx +mybuild):\n%s", diff)
			}
			if diff := cmp.Diff(refRec.pulls, candRec.pulls); diff != "" {
				t.Errorf("pulls (-buildx +mybuild):\n%s", diff)
			}
		})
	}
}
