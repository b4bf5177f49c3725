package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/atomicfile"
	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/pkg/buildreport"
	"github.com/mybuild/mybuild/pkg/dockerfile"
)

// reportOptions are mybuild's --report and --report-file.
type reportOptions struct {
	format string // "", "text" or "json"
	file   string
	flags  *pflag.FlagSet // tells --report from MYBUILD_REPORT
	// noRecord: MYBUILD_REPORT=off with --report-file, whose file is
	// written without a record to compare with or to keep.
	noRecord bool
}

func addReportFlags(fl *pflag.FlagSet, r *reportOptions, getenv func(string) string) {
	fl.StringVar(&r.format, "report", getenv("MYBUILD_REPORT"), `Print a build report on stderr at the end: "text" (what changed, why the cache missed, what was slow) or "json"`)
	fl.Lookup("report").NoOptDefVal = "text"
	fl.StringVar(&r.file, "report-file", "", "Write the build report as JSON to a file")
	r.flags = fl
	for _, n := range []string{"report", "report-file"} {
		_ = fl.SetAnnotation(n, "mybuild", []string{"true"})
	}
}

// check normalises --report (MYBUILD_REPORT=1 is text) and refuses what
// it cannot print.
func (r *reportOptions) check() error {
	switch strings.ToLower(r.format) {
	case "1", "true", "text":
		r.format = "text"
	case "0", "false", "":
		r.format = ""
	case "json", "off":
		r.format = strings.ToLower(r.format)
	default:
		return flagError(fmt.Errorf("invalid argument %q for \"--report\" flag: want text, json or off", r.format))
	}
	if r.format == "off" && r.file != "" {
		// Both flags contradict each other; the variable is only a
		// default, which the explicit --report-file overrides.
		if r.flags != nil && r.flags.Changed("report") {
			return flagError(errors.New("conflicting options: --report=off and --report-file"))
		}
		r.format, r.noRecord = "", true
	}
	return nil
}

// buildWithReport runs the build and, for a local directory context,
// keeps its record (MYBUILD_REPORT=off keeps none) and prints the report
// asked for. The record or the report failing never fails the build.
func buildWithReport(ctx context.Context, b build.Builder, req *build.Request, kind string, r reportOptions) error {
	unfold := foldStages(req, kind, r)
	runBuild := func() (*build.Result, error) {
		res, err := b.Build(ctx, req)
		unfold()
		return res, err
	}
	if r.noRecord {
		started := time.Now()
		res, err := runBuild()
		if res != nil {
			rep := buildreport.NewReport(reportInput(req, res, err, kind, started))
			if werr := r.write(req, rep); werr != nil {
				fmt.Fprintf(req.IO.ErrOut, "WARNING: build report: %v\n", werr)
			}
		}
		return err
	}
	rec := openRecord(req, kind, r)
	if rec == nil {
		_, err := runBuild()
		return err
	}
	req.OnContextFile = func(f build.ContextFile) {
		rec.Add(buildreport.File{Path: f.Path, Size: f.Size, Mode: f.Mode, ModTime: f.ModTime.UnixNano(), UID: f.UID, GID: f.GID})
	}
	started := time.Now()
	res, err := runBuild()
	if res == nil {
		rec.Abort()
		return err
	}
	rep, rerr := rec.Finish(reportInput(req, res, err, kind, started))
	if rerr != nil {
		return err
	}
	if werr := r.write(req, rep); werr != nil {
		fmt.Fprintf(req.IO.ErrOut, "WARNING: build report: %v\n", werr)
	}
	return err
}

// foldStages folds the build's plain log by stage on CI when a report is
// asked for (the log is never changed otherwise): the classic builder's
// on stdout, BuildKit's plain progress on stderr. The returned func
// closes the last group and puts the streams back.
func foldStages(req *build.Request, kind string, r reportOptions) func() {
	ci := buildreport.DetectCI(req.Getenv)
	if ci.Kind == buildreport.NoCI || r.format == "" || r.format == "off" || req.Quiet || liveView(req) {
		return func() {}
	}
	if kind == "buildkit" && req.Progress != "plain" && req.Progress != "auto" && req.Progress != "" {
		return func() {} // rawjson, quiet: not a log to fold
	}
	orig := req.IO
	streams := *orig
	var g *buildreport.StageGroups
	if kind == "buildkit" {
		g = buildreport.NewStageGroups(orig.ErrOut, ci)
		streams.ErrOut = g
	} else {
		g = buildreport.NewStageGroups(orig.Out, ci)
		streams.Out = g
	}
	req.IO = &streams
	return func() {
		_ = g.Close()
		req.IO = orig
	}
}

// openRecord starts the record of a build of a local directory, nil when
// there is none to keep.
func openRecord(req *build.Request, kind string, r reportOptions) *buildreport.Recorder {
	if r.format == "off" || req.ContextPath == "-" {
		return nil
	}
	if fi, err := os.Stat(req.ContextPath); err != nil || !fi.IsDir() {
		return nil
	}
	store, err := buildreport.DefaultStore(req.Getenv)
	if err != nil {
		return nil
	}
	builder := kind
	if req.Daemon != nil && req.Daemon.Client != nil {
		builder += " " + req.Daemon.Client.Host()
	}
	if kind == "buildkit" {
		builder += " " + req.BuildKit.Builder
	}
	rec, err := store.Open(buildreport.Identity{ContextDir: req.ContextPath, Dockerfile: req.DockerfilePath, Builder: builder})
	if err != nil {
		return nil
	}
	return rec
}

// write prints the report asked for on stderr (in a folded group on CI),
// appends it to GitHub's step summary, and writes --report-file.
func (r reportOptions) write(req *build.Request, rep *buildreport.Report) error {
	if r.file != "" {
		if err := writeReportFile(r.file, rep); err != nil {
			return err
		}
	}
	format := r.format
	if format == "" && liveView(req) {
		format = "text" // below the live view, which no log keeps
	}
	if format == "" || format == "off" {
		return nil
	}
	w := req.IO.ErrOut
	ci := buildreport.DetectCI(req.Getenv)
	if g := ci.GroupStart("mybuild build report", time.Now()); g != "" {
		fmt.Fprint(w, g)
		defer func() { fmt.Fprint(w, ci.GroupEnd("mybuild build report", time.Now())) }()
	}
	if ci.Kind == buildreport.GitHub && ci.Summary != "" {
		if err := ci.AppendSummary(rep); err != nil {
			return err
		}
	}
	if format == "json" {
		return buildreport.WriteJSON(w, rep)
	}
	color := req.IO.IsStdoutTTY() && req.Getenv("NO_COLOR") == "" && req.Getenv("TERM") != "dumb"
	return buildreport.WriteText(w, rep, buildreport.TextOptions{Width: req.IO.TerminalWidth(), Color: color})
}

// liveView says the build's output is the live view of a terminal rather
// than a log (plain output stays byte-identical to docker's).
func liveView(req *build.Request) bool {
	if req.Quiet {
		return false
	}
	switch req.Progress {
	case "tty":
		return true
	case "", "auto":
		return req.IO.IsStdoutTTY()
	}
	return false
}

// writeReportFile writes the JSON report whole or not at all, as
// --metadata-file is written.
func writeReportFile(name string, rep *buildreport.Report) error {
	var b bytes.Buffer
	if err := buildreport.WriteJSON(&b, rep); err != nil {
		return err
	}
	return atomicfile.Write(name, b.Bytes(), 0o644)
}

// reportInput is what the report knows of the build: the request's
// inputs and the result's steps.
func reportInput(req *build.Request, res *build.Result, err error, kind string, started time.Time) buildreport.Build {
	if !res.Started.IsZero() {
		started = res.Started
	}
	end := res.Finished
	if end.IsZero() {
		end = time.Now()
	}
	b := buildreport.Build{
		Builder: kind, Started: started, Duration: end.Sub(started),
		Args: buildArgs(req.BuildArgs, req.LookupEnv), Target: req.Target, Platforms: req.Platforms,
		NoCache: req.NoCache, NoCacheFilter: req.BuildKit.NoCacheFilter,
		Bases:     map[string]string{},
		BytesSent: res.ContextBytes, FilesSent: res.ContextFiles,
	}
	if err != nil {
		b.Error = err.Error()
	}
	if kind == "classic" {
		b.Steps = classicSteps(res.Steps, b.Bases)
	} else {
		b.Steps = buildkitSteps(res.Steps, b.Bases, dockerfileStages(req))
	}
	maskArgValues(&b)
	return b
}

// maskArgValues puts $NAME where a build argument's value shows in a
// step's text, its log or the error: BuildKit names a RUN with its
// arguments expanded, and the record must hold no value (a secret's, say),
// nor call an instruction changed when only the argument did. Values
// shorter than 4 bytes are left: too likely to match by chance.
func maskArgValues(b *buildreport.Build) {
	var pairs []string
	names := slices.Sorted(maps.Keys(b.Args))
	slices.SortStableFunc(names, func(x, y string) int { return len(b.Args[y]) - len(b.Args[x]) })
	for _, k := range names {
		if v := b.Args[k]; len(v) >= 4 {
			pairs = append(pairs, v, "$"+k)
		}
	}
	if len(pairs) == 0 {
		return
	}
	r := strings.NewReplacer(pairs...)
	for i := range b.Steps {
		s := &b.Steps[i]
		s.Text, s.Error = r.Replace(s.Text), r.Replace(s.Error)
		for j := range s.Log {
			s.Log[j] = r.Replace(s.Log[j])
		}
	}
	b.Error = r.Replace(b.Error)
}

// buildArgs are the --build-arg values as the build took them (KEY alone
// takes the environment's value).
func buildArgs(in []string, lookupEnv func(string) (string, bool)) map[string]string {
	out := map[string]string{}
	for _, a := range in {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			v, _ = lookupEnv(k)
		}
		out[k] = v
	}
	return out
}

// fromLine is a FROM instruction: its image and its AS name.
var fromLine = regexp.MustCompile(`(?i)^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?`)

// classicSteps are the stream's steps; each FROM starts a stage, its
// image ID is the base the stage resolved to.
func classicSteps(in []build.Step, bases map[string]string) []buildreport.Step {
	out := make([]buildreport.Step, 0, len(in))
	stage, stages := "", 0
	for _, s := range in {
		if m := fromLine.FindStringSubmatch(s.Name); m != nil {
			stage = strconv.Itoa(stages)
			if m[2] != "" {
				stage = m[2]
			}
			stages++
			if s.Output != "" {
				bases[m[1]] = s.Output
			}
		}
		out = append(out, reportStep(s, stage, s.Name))
	}
	return out
}

// buildkitSteps are the solve's Dockerfile steps (internal vertexes,
// exports and loads left out) in the Dockerfile's order: the solve
// announces its vertexes in an order of its own (the last step first).
// stages are the Dockerfile's FROM names in order ("" for an unnamed
// one; nil when it cannot be read): BuildKit names a stage "stage-N", or
// nothing at all in a build of one stage.
func buildkitSteps(in []build.Step, bases map[string]string, stages []string) []buildreport.Step {
	type ranked struct {
		stage, index int
		step         buildreport.Step
	}
	var out []ranked
	firstSeen := map[string]int{}
	for _, s := range in {
		label, index, text, ok := buildreport.VertexStep(s.Name)
		if !ok || strings.Contains(label, " ") {
			continue // not a step, or a stage's step for one platform of several
		}
		stage := stageOfVertex(label, stages)
		rank := slices.Index(stages, stage.name)
		if stage.index >= 0 {
			rank = stage.index
		}
		if rank < 0 {
			// A name the Dockerfile does not give: after the numbered
			// stages, in the order seen.
			if _, ok := firstSeen[stage.name]; !ok {
				firstSeen[stage.name] = 1<<20 + len(firstSeen)
			}
			rank = firstSeen[stage.name]
		}
		// The digest is named only when the image was resolved, not when
		// the step came from the cache: the step is its text without it,
		// the digest a base.
		if f := fromLine.FindStringSubmatch(text); f != nil {
			if ref, dgst, ok := strings.Cut(f[1], "@"); ok {
				bases[ref] = dgst
				text = strings.Replace(text, f[1], ref, 1)
			}
		}
		out = append(out, ranked{rank, index, reportStep(s, stage.name, text)})
	}
	slices.SortStableFunc(out, func(a, b ranked) int {
		if a.stage != b.stage {
			return a.stage - b.stage
		}
		return a.index - b.index
	})
	steps := make([]buildreport.Step, len(out))
	for i, r := range out {
		steps[i] = r.step
	}
	return steps
}

// vertexStage is a step's stage: its name as the report gives it (the
// Dockerfile's AS name when known, else its number) and its index, -1
// when only the name is known.
type vertexStage struct {
	name  string
	index int
}

func stageOfVertex(label string, stages []string) vertexStage {
	index := -1
	switch n, err := strconv.Atoi(strings.TrimPrefix(label, "stage-")); {
	case label == "":
		index = 0
	case strings.HasPrefix(label, "stage-") && err == nil:
		index = n
	default:
		return vertexStage{name: label, index: -1}
	}
	if index < len(stages) && stages[index] != "" {
		return vertexStage{name: stages[index], index: index}
	}
	return vertexStage{name: strconv.Itoa(index), index: index}
}

// dockerfileStages are the FROM names of the build's Dockerfile, nil
// when it cannot be read (stdin, a remote context).
func dockerfileStages(req *build.Request) []string {
	return dockerfile.FromNames(readDockerfile(req.ContextPath, req.DockerfilePath))
}

func reportStep(s build.Step, stage, text string) buildreport.Step {
	st := buildreport.Step{Stage: stage, Text: text, Cached: s.Cached, Started: s.Started, Error: s.Error, Log: s.Log}
	if !s.Started.IsZero() && !s.Completed.IsZero() {
		st.Duration = s.Completed.Sub(s.Started)
	}
	return st
}
