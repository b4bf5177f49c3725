//go:build linux

package faults

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/testbed"
)

// failingRegistry serves a real registry's API in front of it, except that
// every manifest PUT gets a 500.
func failingRegistry(t *testing.T) string {
	t.Helper()
	reg, err := testbed.StartRegistry(filepath.Join(bed.dir, "reg500"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Stop)
	target, _ := url.Parse("http://" + reg.Addr)
	rp := httputil.NewSingleHostReverseProxy(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"the test refuses manifests"}]}`, http.StatusInternalServerError)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestPushFails: row 5, a push that fails: the registry answers 500 to
// the manifest PUT; it asks for credentials and config.json's are wrong;
// nothing listens at its address. Both clients exit as buildx does, write
// --metadata-file and --iidfile alike (neither), and mybuild's push step
// ends in its error.
func TestPushFails(t *testing.T) {
	need(t, engine29)
	authReg, err := testbed.StartRegistry(filepath.Join(bed.dir, "reg401"), "faults", "right-pass")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(authReg.Stop)
	wrong := filepath.Join(bed.dir, "wrong-config")
	auth := base64.StdEncoding.EncodeToString([]byte("faults:wrong-pass"))
	if err := testbed.BuildxConfig(wrong, fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, authReg.Addr, auth)); err != nil {
		t.Fatal(err)
	}
	closed, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row, reg string
		env      []string
	}{
		{row: "5a. push: manifest PUT answered 500", reg: failingRegistry(t)},
		{row: "5b. push: 401, wrong credentials", reg: authReg.Addr, env: []string{"DOCKER_CONFIG=" + wrong}},
		{row: "5c. push: nothing listens", reg: fmt.Sprintf("127.0.0.1:%d", closed)},
	} {
		t.Run(tc.row, func(t *testing.T) {
			got := eachClient(t, tc.row, want{code: 1, within: 60}, func(t *testing.T, c client) (outcome, []string) {
				m := marker()
				dir := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nCOPY a.txt /\n", "a.txt": m})
				out := t.TempDir()
				env := bed.env(append([]string{"DOCKER_HOST=" + engine29}, tc.env...)...)
				p := c.start(t, dir, env, "--progress", "plain", "--push", "-t", tc.reg+"/faults:"+m,
					"--metadata-file", filepath.Join(out, "meta.json"), "--iidfile", filepath.Join(out, "iid"), ".")
				o := p.wait(90 * time.Second)
				for _, f := range []string{"meta.json", "iid"} {
					if b, err := os.ReadFile(filepath.Join(out, f)); err == nil {
						o.left = append(o.left, fmt.Sprintf("%s (%d bytes)", f, len(b)))
					}
				}
				// The daemon's own progress may mark "pushing manifest" done
				// between retries (both clients show it): the push's step
				// must end in its error, and nothing else says it pushed.
				if c.name == "mybuild" && (o.stdout != "" || !strings.Contains(o.stderr, "ERROR: failed to push "+tc.reg)) {
					t.Errorf("mybuild does not end the push in its error, or prints on stdout %q", o.stdout)
				}
				return o, []string{tc.reg}
			})
			ref, cand := got["buildx"], got["mybuild"]
			if ref.code != cand.code {
				t.Errorf("exit code: buildx %d, mybuild %d", ref.code, cand.code)
			}
			if diff := cmp.Diff(ref.left, cand.left); diff != "" {
				t.Errorf("files left (-buildx +mybuild):\n%s", diff)
			}
		})
	}
}
