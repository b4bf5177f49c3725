package jsonstream

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// stepLine is the first line of a build step: docker's "Step 2/4 : RUN
// make" and Podman's "STEP 2/4: RUN make".
var stepLine = regexp.MustCompile(`^(?:Step (\d+/\d+) :|STEP (\d+/\d+):) (.*)`)

// stepTimes measures the steps of a build as their first lines arrive:
// a step lasts until the next one starts, the last one until the end.
type stepTimes struct {
	start time.Time
	steps []step
}

type step struct {
	number, instruction string
	start, end          time.Time
}

// see notes the start of a step when text is a step's first line.
func (s *stepTimes) see(text string, now time.Time) {
	m := stepLine.FindStringSubmatch(text)
	if m == nil {
		return
	}
	s.end(now)
	s.steps = append(s.steps, step{number: m[1] + m[2], instruction: strings.TrimRight(m[3], "\r\n"), start: now})
}

func (s *stepTimes) end(now time.Time) {
	if n := len(s.steps); n > 0 && s.steps[n-1].end.IsZero() {
		s.steps[n-1].end = now
	}
}

// summary is printed when the build ends: each step's duration and the
// whole build's ("Built in 5.6s", or "Failed after 5.6s"), every line cut
// to limit columns (0: not cut).
//
//	Time per step:
//	  1/2   0.4s  FROM busybox
//	  2/2  12.3s  RUN make
//	Built in 13.1s
func (s *stepTimes) summary(now time.Time, failed bool, limit int) string {
	s.end(now)
	var b strings.Builder
	if len(s.steps) > 0 {
		numbers, durations := 0, 0
		for _, st := range s.steps {
			numbers = max(numbers, len(st.number))
			durations = max(durations, len(duration(st.end.Sub(st.start))))
		}
		b.WriteString("Time per step:\n")
		for _, st := range s.steps {
			line := fmt.Sprintf("  %-*s  %*s  %s", numbers, st.number, durations, duration(st.end.Sub(st.start)), st.instruction)
			if limit > 0 {
				line = strings.TrimRight(cut(line, limit), " ")
			}
			b.WriteString(line + "\n")
		}
	}
	if failed {
		b.WriteString("Failed after " + duration(now.Sub(s.start)) + "\n")
	} else {
		b.WriteString("Built in " + duration(now.Sub(s.start)) + "\n")
	}
	return b.String()
}

// duration is d to a tenth of a second under a minute ("0.4s"), to the
// second above ("2m5s").
func duration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", max(d, 0).Seconds())
	}
	return d.Round(time.Second).String()
}
