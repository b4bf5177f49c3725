package buildreport

import (
	"sort"
	"time"
)

// Schema names the JSON form of a Report; it changes only when a field
// changes meaning or goes away (new fields may be added).
const Schema = "mybuild.report/v1"

// Report is what the renderers print. Its JSON form is documented in
// schema.md beside this file.
type Report struct {
	Schema     string `json:"schema"`
	Builder    string `json:"builder,omitempty"`
	Success    bool   `json:"success"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`

	Context ContextSent `json:"context"`
	// Changes is nil when no earlier build of the context is known (or
	// the context is not a local directory).
	Changes *Changes `json:"changes"`

	StepsTotal  int          `json:"steps_total"` // FROM excluded
	StepsCached int          `json:"steps_cached"`
	Steps       []StepReport `json:"steps"`
	Slowest     []StepReport `json:"slowest"` // three at most, slowest first
	FirstMiss   *Miss        `json:"first_miss"`
	Failed      *StepReport  `json:"failed_step"`
}

// ContextSent is what went to the daemon.
type ContextSent struct {
	Bytes int64 `json:"bytes"`
	Files int64 `json:"files"`
}

// Changes sums up the context's changes since the last build.
type Changes struct {
	Added    int      `json:"added"`
	Removed  int      `json:"removed"`
	Content  int      `json:"changed"`
	Metadata int      `json:"metadata_only"`
	Largest  []Change `json:"largest"` // five at most
	More     int      `json:"more"`    // changes not in Largest
}

// StepReport is one step as reported.
type StepReport struct {
	Stage      string   `json:"stage,omitempty"`
	Text       string   `json:"text"`
	Cached     bool     `json:"cached"`
	Started    string   `json:"started,omitempty"` // RFC 3339, UTC
	DurationMS int64    `json:"duration_ms"`
	Error      string   `json:"error,omitempty"`
	Log        []string `json:"log,omitempty"`
}

func (s StepReport) Duration() time.Duration { return time.Duration(s.DurationMS) * time.Millisecond }

// Duration is the build's.
func (r *Report) Duration() time.Duration { return time.Duration(r.DurationMS) * time.Millisecond }

const (
	largestNamed = 5
	slowestNamed = 3
	// logLines of a failed step are kept.
	logLines = 10
)

// NewReport is the report of b alone, with no earlier record to compare
// with (MYBUILD_REPORT=off with --report-file): nothing is kept.
func NewReport(b Build) *Report { return newReport(b, nil, nil) }

func newReport(b Build, prev *meta, diff *FileDiff) *Report {
	r := &Report{
		Schema: Schema, Builder: b.Builder, Success: b.Error == "", Error: b.Error,
		DurationMS: b.Duration.Milliseconds(),
		Context:    ContextSent{Bytes: b.BytesSent, Files: b.FilesSent},
		Steps:      []StepReport{},
		Slowest:    []StepReport{},
	}
	if diff != nil {
		c := &Changes{Added: diff.Added, Removed: diff.Removed, Content: diff.Content, Metadata: diff.Metadata}
		c.Largest, c.More = Largest(diff.Changes, largestNamed)
		r.Changes = c
	}
	for _, s := range b.Steps {
		sr := StepReport{Stage: s.Stage, Text: s.Text, Cached: s.Cached, DurationMS: s.Duration.Milliseconds(), Error: s.Error}
		if !s.Started.IsZero() {
			sr.Started = s.Started.UTC().Format(time.RFC3339Nano)
		}
		if s.Error != "" {
			sr.Log = s.Log[max(0, len(s.Log)-logLines):]
			if r.Failed == nil {
				f := sr
				r.Failed = &f
			}
		}
		r.Steps = append(r.Steps, sr)
		if !s.IsFrom() {
			r.StepsTotal++
			if s.Cached {
				r.StepsCached++
			}
		}
	}
	slow := append([]StepReport(nil), r.Steps...)
	sort.SliceStable(slow, func(i, j int) bool { return slow[i].DurationMS > slow[j].DurationMS })
	for _, s := range slow {
		if len(r.Slowest) == slowestNamed || s.DurationMS == 0 {
			break
		}
		r.Slowest = append(r.Slowest, s)
	}
	r.FirstMiss = explain(b, prev, diff)
	return r
}

// Total is the number of files that changed in any way.
func (c *Changes) Total() int { return c.Added + c.Removed + c.Content + c.Metadata }
