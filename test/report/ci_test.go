//go:build linux

package report

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

// TestGitHubActions runs the binary as a GitHub Actions step would: with
// MYBUILD_REPORT=1 the build's log is folded by stage (the classic
// builder's stdout, BuildKit's plain progress on stderr), the report is in
// a group of its own and appended to $GITHUB_STEP_SUMMARY; without it the
// log has no group and the summary is untouched.
func TestGitHubActions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		token := fmt.Sprint(time.Now().UnixNano())
		dir := t.TempDir()
		writeFile(t, dir, "Dockerfile", "FROM "+base+" AS first\nRUN echo one-"+token+"\nFROM "+base+" AS second\nCOPY --from=first /bin/busybox /b\nRUN echo two-"+token+"\n")
		summary := filepath.Join(t.TempDir(), "summary.md")
		writeFile(t, filepath.Dir(summary), "summary.md", "earlier step\n")
		tag := "mybuild-report-ci:" + token
		t.Cleanup(func() { dockerQuiet(e.host, "rmi", "-f", tag) })
		env := testbed.CleanEnv(append([]string{"DOCKER_HOST=" + e.host, "XDG_CACHE_HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir(),
			"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + summary}, e.env...)...)
		stdout, stderr, err := run(dir, env, "--network", "none", "-t", tag, ".")
		if err != nil {
			t.Fatalf("build: %v\n%s", err, stderr)
		}
		if strings.Contains(stdout+stderr, "::group::") {
			t.Errorf("a group in the log without MYBUILD_REPORT:\n%s%s", stdout, stderr)
		}
		if b, _ := os.ReadFile(summary); string(b) != "earlier step\n" {
			t.Errorf("the summary changed without MYBUILD_REPORT:\n%s", b)
		}

		stdout, stderr, err = run(dir, append(env, "MYBUILD_REPORT=1"), "--network", "none", "--no-cache", "-t", tag, ".")
		if err != nil {
			t.Fatalf("build: %v\n%s", err, stderr)
		}
		log := stdout
		if e.buildkit {
			log = stderr
		}
		for _, g := range []string{"stage first", "stage second"} {
			if !strings.Contains(log, "::group::"+g+"\n") {
				t.Errorf("no group %q in the build's log:\n%s", g, log)
			}
		}
		for name, text := range map[string]string{"stdout": stdout, "stderr": stderr} {
			if err := wellFormedGroups(text); err != nil {
				t.Errorf("%s: %v:\n%s", name, err, text)
			}
		}
		if !strings.Contains(stderr, "::group::mybuild build report\n") {
			t.Errorf("the report is not in a group of its own:\n%s", stderr)
		}
		b, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); !strings.HasPrefix(s, "earlier step\n### Build report: ✅ built in ") || !strings.Contains(s, "RUN echo two-"+token) {
			t.Errorf("the step summary does not end with the report of the build:\n%s", s)
		}
	})
}

var groupMarker = regexp.MustCompile(`(?m)^::(group::.*|endgroup::)$`)

// wellFormedGroups: GitHub's groups do not nest; each opened is closed.
func wellFormedGroups(text string) error {
	open := false
	for _, m := range groupMarker.FindAllString(text, -1) {
		switch {
		case m == "::endgroup::" && !open:
			return fmt.Errorf("::endgroup:: with no group open")
		case m != "::endgroup::" && open:
			return fmt.Errorf("%s inside an open group", m)
		}
		open = m != "::endgroup::"
	}
	if open {
		return fmt.Errorf("a group left open")
	}
	return nil
}
