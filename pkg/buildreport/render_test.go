package buildreport

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/golden"
)

// sampleReports: a rebuild after a one-file change, a failed build, a
// first build.
func sampleReports() map[string]*Report {
	b := Build{Builder: "buildkit", Started: t0, Duration: 4200 * time.Millisecond, BytesSent: 8400, FilesSent: 1,
		Steps: []Step{
			{Stage: "0", Text: "FROM docker.io/library/busybox:latest", Started: t0, Duration: 300 * time.Millisecond},
			{Stage: "0", Text: "COPY package.json /app/", Cached: true, Started: t0.Add(time.Second)},
			{Stage: "0", Text: "COPY . /app", Started: t0.Add(time.Second), Duration: 800 * time.Millisecond},
			{Stage: "0", Text: "RUN make -C /app all install PREFIX=/usr/local DESTDIR=/out && strip /out/usr/local/bin/*", Started: t0.Add(2 * time.Second), Duration: 2100 * time.Millisecond},
		}}
	diff := &FileDiff{}
	for _, c := range []Change{
		{Path: "src/main.go", Kind: Content, Size: 8200},
		{Path: "src/new/handler.go", Kind: Added, Size: 1200},
		{Path: "docs/old.md", Kind: Removed, Size: 300},
		{Path: "assets/logo.png", Kind: Metadata, Size: 40000},
		{Path: "src/a.go", Kind: Content, Size: 10},
		{Path: "src/b.go", Kind: Content, Size: 20},
		{Path: "src/c.go", Kind: Content, Size: 30},
	} {
		diff.add(c)
	}
	prev := &meta{Version: metaVersion, Files: true, Steps: []metaStep{{"0", "FROM docker.io/library/busybox:latest", false}, {"0", "COPY package.json /app/", true}, {"0", "COPY . /app", true}}}
	changed := newReport(b, prev, diff)

	fb := b
	fb.Error = `process "/bin/sh -c make" did not complete successfully: exit code: 2`
	fb.Steps = append([]Step(nil), b.Steps...)
	fb.Steps[3].Error = "exit code: 2"
	fb.Steps[3].Log = []string{"cc -c main.c", "main.c:3: error: expected ';'", "make: *** [all] Error 1"}
	failed := newReport(fb, prev, diff)

	first := newReport(Build{Builder: "classic", Duration: 61500 * time.Millisecond, BytesSent: 149_000_000, FilesSent: 27000,
		Steps: []Step{{Stage: "0", Text: "FROM scratch"}, {Stage: "0", Text: "COPY . /app", Duration: 61 * time.Second}}}, nil, nil)
	return map[string]*Report{"changed": changed, "failed": failed, "first": first}
}

func TestWriteText(t *testing.T) {
	for name, r := range sampleReports() {
		for _, color := range []bool{false, true} {
			n := name
			if color {
				n += "-color"
			}
			t.Run(n, func(t *testing.T) {
				var b bytes.Buffer
				if err := WriteText(&b, r, TextOptions{Width: 80, Color: color}); err != nil {
					t.Fatal(err)
				}
				for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
					if w := len([]rune(stripEscapes(l))); w > 80 {
						t.Errorf("line of %d columns: %q", w, l)
					}
				}
				if !color && strings.Contains(b.String(), "\x1b") {
					t.Errorf("escape sequence without color")
				}
				golden.Assert(t, b.Bytes(), ".txt")
			})
		}
	}
}

func stripEscapes(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestWriteJSON(t *testing.T) {
	for name, r := range sampleReports() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, r); err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(b.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(r, &back); d != "" {
				t.Errorf("JSON does not read back (-want +got):\n%s", d)
			}
			golden.Assert(t, b.Bytes(), ".json")
		})
	}
}

func TestGitHubSummary(t *testing.T) {
	for name, r := range sampleReports() {
		t.Run(name, func(t *testing.T) {
			summary := filepath.Join(t.TempDir(), "summary.md")
			os.WriteFile(summary, []byte("earlier step\n"), 0o644)
			ci := DetectCI(env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}))
			if err := ci.AppendSummary(r); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(summary)
			if !bytes.HasPrefix(got, []byte("earlier step\n### Build report")) {
				t.Errorf("summary not appended: %q", got)
			}
			golden.Assert(t, got, ".md")
		})
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDetectCI(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want CI
	}{
		{nil, CI{}},
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "/s"}, CI{Kind: GitHub, Summary: "/s"}},
		{map[string]string{"GITHUB_ACTIONS": "false"}, CI{}},
		{map[string]string{"GITLAB_CI": "true"}, CI{Kind: GitLab}},
		{map[string]string{"CI": "true"}, CI{}},
	}
	for _, tc := range cases {
		if d := cmp.Diff(tc.want, DetectCI(env(tc.env))); d != "" {
			t.Errorf("DetectCI(%v) (-want +got):\n%s", tc.env, d)
		}
	}
}

func TestGroups(t *testing.T) {
	now := time.Unix(1767323045, 0)
	var b strings.Builder
	for _, ci := range []CI{{Kind: GitHub}, {Kind: GitLab}, {}} {
		b.WriteString(ci.GroupStart("[build 2/4] RUN make", now))
		b.WriteString("log line\n")
		b.WriteString(ci.GroupEnd("[build 2/4] RUN make", now.Add(3*time.Second)))
	}
	golden.Assert(t, []byte(b.String()), ".txt")
}
