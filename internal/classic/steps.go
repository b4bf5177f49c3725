package classic

import (
	"regexp"
	"strings"
	"time"

	"github.com/mybuild/mybuild/internal/build"
)

var (
	// stepLine is a step's first line: docker's "Step 2/4 : RUN make",
	// Podman's "STEP 2/4: RUN make".
	stepLine = regexp.MustCompile(`^(?:Step \d+/\d+ :|STEP \d+/\d+:) (.*)`)
	// cacheLine says the step was taken from the cache (docker's
	// " ---> Using cache", Podman's "--> Using cache …").
	cacheLine = regexp.MustCompile(`^ ?-+> Using cache`)
	// outputLine is the image a step made (" ---> 0a1b2c3d4e5f").
	outputLine = regexp.MustCompile(`^ ?-+> ([0-9a-f]{12,64})$`)
	// markerLine is the daemon's own bookkeeping, not the step's output.
	markerLine = regexp.MustCompile(`^ ?-+> |^Removing intermediate container |^(?:Successfully built|Successfully tagged) `)
)

// steps follows the build's steps through the daemon's stream text: a step
// lasts from its first line to the next step's (the last one to the end).
type steps struct {
	list []build.Step
	now  func() time.Time
}

// stream reads one stream message's text.
func (s *steps) stream(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\r\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		if m := stepLine.FindStringSubmatch(line); m != nil {
			now := s.now()
			s.end(now)
			s.list = append(s.list, build.Step{Name: m[1], Started: now})
			continue
		}
		n := len(s.list)
		if n == 0 {
			continue
		}
		if cacheLine.MatchString(line) {
			s.list[n-1].Cached = true
		} else if m := outputLine.FindStringSubmatch(line); m != nil {
			s.list[n-1].Output = m[1]
		} else if line != "" && !markerLine.MatchString(line) {
			s.list[n-1].AddLog(line)
		}
	}
}

// finish completes the step under way, failed with err when not nil.
func (s *steps) finish(err error) []build.Step {
	s.end(s.now())
	if n := len(s.list); n > 0 && err != nil {
		s.list[n-1].Error = err.Error()
	}
	return s.list
}

func (s *steps) end(now time.Time) {
	if n := len(s.list); n > 0 && s.list[n-1].Completed.IsZero() {
		s.list[n-1].Completed = now
	}
}
