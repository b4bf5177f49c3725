//go:build linux

package faults

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecrets: row 9, --secret from an environment variable and from a
// file, used by RUN --mount=type=secret: the values are never in stdout,
// stderr (plain, rawjson, tty), the --metadata-file with max provenance,
// nor in an OCI tar with max-mode provenance, a docker tar, a local output,
// the image loaded into the daemon (saved with docker save) or mybuild's
// build records (the report's). A
// secret-looking --build-arg gets BuildKit's SecretsUsedInArgOrEnv
// warning, as with buildx.
func TestSecrets(t *testing.T) {
	need(t, engine29)
	eachClient(t, "9. secrets in outputs", want{code: 0, within: 120, clean: true}, func(t *testing.T, c client) (outcome, []string) {
		m := marker()
		envSecret, fileSecret := "env-secret-"+m, "file-secret-"+m
		df := "FROM " + base + "\nARG API_TOKEN\n" +
			"RUN --mount=type=secret,id=envtok --mount=type=secret,id=filetok cat /run/secrets/envtok /run/secrets/filetok | wc -c > /len && echo " + m + " >/m\n"
		dir := writeContext(t, map[string]string{"Dockerfile": df, "tok.txt": fileSecret})
		out := t.TempDir()
		image := "mybuild-faults-secret:" + c.name + m
		// mybuild's build records go under out, where leaks looks.
		env := bed.env("DOCKER_HOST="+engine29, "TOKEN="+envSecret, "BUILDX_METADATA_PROVENANCE=max", "XDG_CACHE_HOME="+filepath.Join(out, "cache"))
		common := []string{"--network", "none", "--secret", "id=envtok,env=TOKEN", "--secret", "id=filetok,src=tok.txt", "--build-arg", "API_TOKEN=arg-" + m}
		var o outcome
		var ttyOut string
		for _, args := range [][]string{
			{"--progress", "rawjson", "--provenance", "mode=max", "--metadata-file", filepath.Join(out, "meta.json"), "-o", "type=oci,dest=" + filepath.Join(out, "oci.tar"), "."},
			{"--progress", "plain", "-o", "type=docker,dest=" + filepath.Join(out, "docker.tar"), "."},
			{"--progress", "plain", "-o", "type=local,dest=" + filepath.Join(out, "local"), "."},
			{"--progress", "tty", "--load", "-t", image, "."},
		} {
			start := c.start
			if args[1] == "tty" {
				start = c.startTTY
			}
			r := start(t, dir, env, append(common, args...)...).wait(hangLimit)
			if args[1] == "tty" {
				ttyOut = r.stderr
			}
			o.code, o.secs, o.hung = max(o.code, r.code), o.secs+r.secs, o.hung || r.hung
			if args[1] != "tty" {
				o.lastErr = r.lastErr
			}
			o.stdout += r.stdout
			o.stderr += r.stderr
			if r.code != 0 || r.hung {
				break
			}
		}
		if o.code == 0 && !o.hung {
			saveImage(t, image, filepath.Join(out, "image.tar"))
			// A redrawn screen moves the cursor up.
			if !cursorUp.MatchString(ttyOut) {
				o.left = append(o.left, "no terminal progress for --progress tty")
			}
		}
		if !strings.Contains(o.stderr, "SecretsUsedInArgOrEnv") {
			o.left = append(o.left, "no SecretsUsedInArgOrEnv warning")
		}
		if records := filesUnder(filepath.Join(out, "cache", "mybuild", "reports")); c.name == "mybuild" && len(records) == 0 {
			o.left = append(o.left, "no build record under XDG_CACHE_HOME to look in")
		}
		for _, s := range []string{envSecret, fileSecret} {
			for _, where := range leaks(t, s, map[string]string{"stdout": o.stdout, "stderr": o.stderr}, out) {
				o.left = append(o.left, "the secret in "+where)
			}
		}
		return o, nil
	})
}

var cursorUp = regexp.MustCompile(`\x1b\[[0-9]*A`)

// saveImage writes the daemon's image to file (docker save) and removes it
// from the daemon.
func saveImage(t *testing.T, image, file string) {
	t.Helper()
	docker := func(args ...string) {
		cmd := exec.Command(dockerPath, append([]string{"-H", engine29}, args...)...)
		cmd.Env = bed.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	docker("save", "-o", file, image)
	docker("rmi", image)
}

// leaks names where s (or its base64) is: in texts, or in a file under
// dir, a tar's entries and gzipped blobs included.
func leaks(t *testing.T, s string, texts map[string]string, dir string) []string {
	t.Helper()
	needles := [][]byte{[]byte(s), []byte(base64.StdEncoding.EncodeToString([]byte(s)))}
	var found []string
	has := func(b []byte) bool {
		for _, n := range needles {
			if bytes.Contains(b, n) {
				return true
			}
		}
		return false
	}
	for name, text := range texts {
		if has([]byte(text)) {
			found = append(found, name)
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if deepHas(b, has) {
			found = append(found, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// deepHas looks in b, in b gunzipped, and in each entry of b as a tar.
func deepHas(b []byte, has func([]byte) bool) bool {
	if has(b) {
		return true
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if ub, err := io.ReadAll(zr); err == nil && deepHas(ub, has) {
				return true
			}
		}
	}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		if _, err := tr.Next(); err != nil {
			return false
		}
		eb, err := io.ReadAll(tr)
		if err != nil {
			return false
		}
		if deepHas(eb, has) {
			return true
		}
	}
}
