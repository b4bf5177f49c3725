package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/pkg/buildreport"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// A FROM's vertex names its digest only when the image was resolved: the
// step's text is the same either way, the digest a base.
func TestBuildKitStepsFrom(t *testing.T) {
	const dgst = "sha256:d53a8480e9ec584875ffb1569c0a45683468f88790267ffe4ea2d75a6f9ed1de"
	for _, name := range []string{
		"[1/2] FROM docker.io/library/busybox:latest@" + dgst,
		"[1/2] FROM docker.io/library/busybox:latest",
	} {
		bases := map[string]string{}
		got := buildkitSteps([]build.Step{{Name: name}, {Name: "[2/2] COPY . /app"}}, bases, nil)
		want := []buildreport.Step{{Stage: "0", Text: "FROM docker.io/library/busybox:latest"}, {Stage: "0", Text: "COPY . /app"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: steps (-want +got):\n%s", name, diff)
		}
		if strings.Contains(name, "@") && bases["docker.io/library/busybox:latest"] != dgst {
			t.Errorf("%s: bases %v", name, bases)
		}
	}
}

// TestBuildKitStepsOrder: the solve announces its vertexes last step
// first; the report lists them in the Dockerfile's order, stages named as
// the Dockerfile names them.
func TestBuildKitStepsOrder(t *testing.T) {
	in := []build.Step{
		{Name: "[stage-2 2/2] COPY --from=build /out /out"},
		{Name: "[build 3/3] RUN make"},
		{Name: "[internal] load build context"},
		{Name: "[build 2/3] COPY . /src"},
		{Name: "[stage-2 1/2] FROM docker.io/library/busybox:latest"},
		{Name: "[build 1/3] FROM docker.io/library/golang:1"},
		{Name: "[tools 1/1] FROM docker.io/library/alpine"},
		{Name: "[linux/arm64 build 2/3] COPY . /src"}, // one platform of several: left out
	}
	type step struct{ Stage, Text string }
	for _, tc := range []struct {
		name   string
		stages []string
		want   []step
	}{
		{name: "Dockerfile read", stages: []string{"tools", "build", ""}, want: []step{
			{"tools", "FROM docker.io/library/alpine"},
			{"build", "FROM docker.io/library/golang:1"}, {"build", "COPY . /src"}, {"build", "RUN make"},
			{"2", "FROM docker.io/library/busybox:latest"}, {"2", "COPY --from=build /out /out"},
		}},
		// Without it the numbered stage comes first, named ones as seen.
		{name: "no Dockerfile", want: []step{
			{"2", "FROM docker.io/library/busybox:latest"}, {"2", "COPY --from=build /out /out"},
			{"build", "FROM docker.io/library/golang:1"}, {"build", "COPY . /src"}, {"build", "RUN make"},
			{"tools", "FROM docker.io/library/alpine"},
		}},
	} {
		var got []step
		for _, s := range buildkitSteps(in, map[string]string{}, tc.stages) {
			got = append(got, step{s.Stage, s.Text})
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: steps (-want +got):\n%s", tc.name, diff)
		}
	}
	one := buildkitSteps([]build.Step{{Name: "[2/2] RUN true"}, {Name: "[1/2] FROM busybox"}}, map[string]string{}, []string{"app"})
	if len(one) != 2 || one[0].Stage != "app" || one[0].Text != "FROM busybox" {
		t.Errorf("one stage named app: %+v", one)
	}
}

// TestReportFlagsAndEnv: MYBUILD_REPORT is a default that an explicit
// --report-file overrides; --report=off with --report-file is a usage
// error. Not parallel: runInProcess passes --config.
func TestReportFlagsAndEnv(t *testing.T) {
	type outcome struct {
		Code       int
		FirstLine  string // of stderr
		Builds     int
		FileSchema string // "" when no report file was written
		HasChanges bool   // the file compares with an earlier record
		Records    int    // .rec files kept under XDG_CACHE_HOME
	}
	for _, tc := range []struct {
		name  string
		env   string // MYBUILD_REPORT
		args  []string
		twice bool // build twice, the first time with no report flag
		want  outcome
	}{
		{name: "--report-file alone", args: []string{"--report-file", "R"}, twice: true,
			want: outcome{Builds: 2, FileSchema: "mybuild.report/v1", HasChanges: true, Records: 1}},
		{name: "MYBUILD_REPORT=off keeps no record", env: "off",
			want: outcome{Builds: 1}},
		{name: "MYBUILD_REPORT=off with --report-file writes the file, keeps no record", env: "off", args: []string{"--report-file", "R"},
			want: outcome{Builds: 1, FileSchema: "mybuild.report/v1"}},
		{name: "--report=off with --report-file is refused", args: []string{"--report=off", "--report-file", "R"},
			want: outcome{Code: 125, FirstLine: "conflicting options: --report=off and --report-file"}},
		{name: "--report=off with --report-file is refused whatever MYBUILD_REPORT says", env: "json", args: []string{"--report-file", "R", "--report=off"},
			want: outcome{Code: 125, FirstLine: "conflicting options: --report=off and --report-file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := enginetest.New()
			cache := t.TempDir()
			file := filepath.Join(t.TempDir(), "report.json")
			env := map[string]string{"DOCKER_HOST": serve(t, d, "unix"), "XDG_CACHE_HOME": cache}
			if tc.env != "" {
				env["MYBUILD_REPORT"] = tc.env
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = a
				if a == "R" {
					args[i] = file
				}
			}
			ctxDir := buildContext(t, 0)
			if tc.twice {
				if r := runInProcess(t, map[string]string{"DOCKER_HOST": env["DOCKER_HOST"], "XDG_CACHE_HOME": cache}, ctxDir); r.code != 0 {
					t.Fatalf("first build: %s", r)
				}
			}
			r := runInProcess(t, env, append(args, ctxDir)...)
			got := outcome{Code: r.code, Builds: len(d.Requests())}
			if r.code != 0 {
				got.FirstLine, _, _ = strings.Cut(r.stderr, "\n")
			}
			if raw, err := os.ReadFile(file); err == nil {
				var rep struct {
					Schema  string          `json:"schema"`
					Changes json.RawMessage `json:"changes"`
				}
				if err := json.Unmarshal(raw, &rep); err != nil {
					t.Fatalf("report file: %v\n%s", err, raw)
				}
				got.FileSchema, got.HasChanges = rep.Schema, string(rep.Changes) != "null"
			}
			recs, _ := filepath.Glob(filepath.Join(cache, "mybuild", "reports", "*.rec"))
			got.Records = len(recs)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\nstderr: %s", diff, r.stderr)
			}
		})
	}
}

// BuildKit names a RUN with its build arguments expanded: the report and
// its record hold the argument's name, never its value.
func TestMaskArgValues(t *testing.T) {
	const secret = "s3cr3tVALUE0123456789abcdef"
	b := buildreport.Build{
		Args: map[string]string{"V": secret, "N": "1", "TOKEN_PREFIX": secret[:6]},
		Steps: []buildreport.Step{
			{Text: "RUN echo built " + secret, Log: []string{"built " + secret, "1 done"}, Error: "exit " + secret},
			{Text: "RUN echo 1"},
		},
		Error: `process "/bin/sh -c echo built ` + secret + `" did not complete`,
	}
	maskArgValues(&b)
	want := []buildreport.Step{
		{Text: "RUN echo built $V", Log: []string{"built $V", "1 done"}, Error: "exit $V"},
		{Text: "RUN echo 1"},
	}
	if diff := cmp.Diff(want, b.Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if strings.Contains(b.Error, secret) {
		t.Errorf("error %q holds the value", b.Error)
	}
}
