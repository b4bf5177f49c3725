package buildkit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/testbed"
)

// historyCase is one build by each client, after which what buildx's
// history commands say of it is compared.
type historyCase struct {
	name  string
	args  []string // after "build"; run in ROOT, where the context is c
	stdin string
	code  int
}

// historyView is what `docker buildx history` shows of one build, and the
// local state file it read (its ref masked).
type historyView struct {
	Code       int
	Refs       int
	LocalState string
	Inspect    map[string]any
	Listed     map[string]any
}

// TestHistory: after a build by buildx and one by mybuild, `docker buildx
// history inspect` and `history ls` show both alike (name, context,
// Dockerfile, status), from the local state each client left under the
// buildx directory, and `docker buildx ls` shows the builder's last use.
func TestHistory(t *testing.T) {
	e := engines[0]
	need(t, e)
	cases := []historyCase{
		{name: "context dir", args: []string{"-o", "type=cacheonly", "c"}},
		{name: "-f in another dir", args: []string{"-f", "other/Dockerfile.alt", "-o", "type=cacheonly", "c"}},
		{name: "Dockerfile from stdin", args: []string{"-f", "-", "-o", "type=cacheonly", "c"}, stdin: "FROM scratch\nCOPY a.txt /s.txt\n"},
		{name: "--target", args: []string{"--target", "one", "-o", "type=cacheonly", "c"}},
		{name: "a failing RUN", args: []string{"-f", "other/Dockerfile.fail", "-o", "type=cacheonly", "c"}, code: 1},
		{name: "--call check keeps no ref", args: []string{"--call", "check", "c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := testbed.WriteFiles(root, map[string]string{
				"c/Dockerfile":          "FROM scratch AS one\nCOPY a.txt /\n\nFROM scratch\nCOPY a.txt /b.txt\n",
				"c/a.txt":               "a\n",
				"other/Dockerfile.alt":  "FROM scratch\nCOPY a.txt /alt.txt\n",
				"other/Dockerfile.fail": "FROM " + base + "\nRUN exit 3\n",
			}); err != nil {
				t.Fatal(err)
			}
			// One config each, so each client's state is its own; the
			// history commands are buildx's in both.
			for _, cfg := range []string{"cfg", "cfg-mb"} {
				if err := os.MkdirAll(filepath.Join(root, cfg, "cli-plugins"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(bed.config, "cli-plugins", "docker-buildx"), filepath.Join(root, cfg, "cli-plugins", "docker-buildx")); err != nil {
					t.Fatal(err)
				}
			}
			ref := historyRun(t, e, root, "cfg", testbed.Docker.Bin, tc)
			cand := historyRun(t, e, root, "cfg-mb", bed.mybuild, tc)
			if ref.Code != tc.code {
				t.Errorf("docker exited %d, want %d", ref.Code, tc.code)
			}
			if diff := cmp.Diff(ref, cand); diff != "" {
				t.Errorf("history (-docker +mybuild):\n%s", diff)
			}
		})
	}
}

// historyRun builds tc with bin under the docker config cfg of root and
// returns what buildx's history and ls commands then show.
func historyRun(t *testing.T, e engine, root, cfg, bin string, tc historyCase) historyView {
	t.Helper()
	env := bed.env(e, "DOCKER_CONFIG="+filepath.Join(root, cfg))
	args := tc.args
	if bin == testbed.Docker.Bin {
		args = append([]string{"build"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdin = root, env, strings.NewReader(tc.stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now().UTC().Truncate(time.Second)
	err := cmd.Run()
	var v historyView
	if ee, ok := err.(*exec.ExitError); ok {
		v.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	look := func(args ...string) []byte {
		c := exec.Command(testbed.Docker.Bin, args...)
		c.Dir, c.Env = root, env
		out, err := c.Output()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	// The builder's last use, as `docker buildx ls` reads it.
	var builders struct{ Name, LastActivity string }
	if err := json.Unmarshal(look("buildx", "ls", "--format", "json"), &builders); err != nil {
		t.Fatal(err)
	}
	if last, err := time.Parse(time.RFC3339, builders.LastActivity); err != nil || last.Before(started) {
		t.Errorf("%s: docker buildx ls shows %s's last activity %q, the build started at %s", bin, builders.Name, builders.LastActivity, started.Format(time.RFC3339))
	}
	dir := filepath.Join(root, cfg, "buildx", "refs", "default", "default")
	ents, _ := os.ReadDir(dir)
	v.Refs = len(ents)
	if len(ents) != 1 {
		return v
	}
	id := ents[0].Name()
	st, err := os.ReadFile(filepath.Join(dir, id))
	if err != nil {
		t.Fatal(err)
	}
	v.LocalState = strings.ReplaceAll(string(st), root, "ROOT")
	if err := json.Unmarshal(look("buildx", "history", "inspect", id, "--format", "json"), &v.Inspect); err != nil {
		t.Fatal(err)
	}
	keep := func(m map[string]any, keys ...string) {
		for k := range m {
			if !slices.Contains(keys, k) {
				delete(m, k)
			}
		}
	}
	keep(v.Inspect, "Name", "Context", "Dockerfile", "Target", "Status", "Error", "NumTotalSteps")
	if e, ok := v.Inspect["Error"].(map[string]any); ok {
		keep(e, "Message", "Name") // its stack names the inspecting process
	}
	if d, ok := v.Inspect["Dockerfile"].(string); ok {
		v.Inspect["Dockerfile"] = strings.ReplaceAll(d, root, "ROOT")
	}
	for line := range strings.Lines(string(look("buildx", "history", "ls", "--format", "json"))) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["ref"] == "default/default/"+id {
			keep(m, "name", "status", "total_steps")
			v.Listed = m
		}
	}
	if v.Listed == nil {
		t.Errorf("%s: docker buildx history ls does not list %s", bin, id)
	}
	return v
}
