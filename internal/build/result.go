package build

import (
	"context"
	"time"
)

// Builder runs a Request. An error that knows its exit status says so
// with an ExitStatus() int method.
type Builder interface {
	Build(ctx context.Context, req *Request) (*Result, error)
}

// Result is what a finished build tells: what it made and how it went.
type Result struct {
	ImageID string
	// ExporterResponse is BuildKit's (digests, image names, descriptors).
	ExporterResponse map[string]string
	// Steps are the build's steps in the order they started.
	Steps []Step
	// ContextBytes and ContextFiles are what the context sent weighed
	// (for BuildKit, what the daemon asked for).
	ContextBytes int64
	ContextFiles int64
	// Warnings are the build's warnings, one line each.
	Warnings []string
	Started  time.Time
	Finished time.Time
}

// Step is one step of a build: a Dockerfile instruction (classic) or a
// BuildKit vertex.
type Step struct {
	Name string
	// Output is what the step made: the classic builder's image ID
	// (" ---> 0a1b2c3d4e5f"; for a FROM, the base image's).
	Output    string
	Cached    bool
	Started   time.Time
	Completed time.Time
	Error     string
	// Log is the step's last lines of output (LogLines at most), for the
	// report of a failed step.
	Log []string
}

// LogLines is how many of a step's last log lines it keeps.
const LogLines = 10

// AddLog keeps line as the step's latest log line, dropping the oldest
// beyond LogLines and cutting a long line at 240 bytes.
func (s *Step) AddLog(line string) {
	if len(line) > 240 {
		line = line[:240]
	}
	if len(s.Log) == LogLines {
		copy(s.Log, s.Log[1:])
		s.Log = s.Log[:LogLines-1]
	}
	s.Log = append(s.Log, line)
}
