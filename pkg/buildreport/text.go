package buildreport

import (
	"fmt"
	"io"
	"strings"
	"time"

	units "github.com/docker/go-units"
)

// TextOptions shape the terminal report.
type TextOptions struct {
	Width int  // lines are cut to it; 0: 80
	Color bool // bold headings (false under NO_COLOR or when not a terminal)
}

// WriteText prints the report for a terminal, a few lines that fit
// Width columns.
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	if o.Width <= 0 {
		o.Width = 80
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(cut(s, o.Width) + "\n") }
	head := func(s string) string {
		if o.Color {
			return "\x1b[1m" + s + "\x1b[0m"
		}
		return s
	}
	status := "built"
	if !r.Success {
		status = "failed"
	}
	line(head("Build report") + fmt.Sprintf(": %s in %s, %d of %d steps cached", status, dur(r.Duration()), r.StepsCached, r.StepsTotal))
	line(fmt.Sprintf("  context sent: %s in %s", units.HumanSize(float64(r.Context.Bytes)), plural(r.Context.Files, "file")))
	if c := r.Changes; c == nil {
		line("  changes since the last build: unknown (no earlier build recorded)")
	} else if c.Added+c.Removed+c.Content+c.Metadata == 0 {
		line("  changes since the last build: none")
	} else {
		line("  changes since the last build: " + changeCounts(c))
		for _, ch := range c.Largest {
			line(fmt.Sprintf("    %-8s %8s  %s", label(ch), units.HumanSize(float64(ch.Size)), ch.Path))
		}
		if c.More > 0 {
			line(fmt.Sprintf("    and %d more", c.More))
		}
	}
	if m := r.FirstMiss; m != nil {
		line("  " + head("first cache miss") + ": " + m.Step)
		line("    why: " + m.Detail)
	} else if r.StepsTotal > 0 {
		line("  first cache miss: none")
	}
	if len(r.Slowest) > 0 {
		line("  slowest steps:")
		for _, s := range r.Slowest {
			line(fmt.Sprintf("    %6s  %s", dur(s.Duration()), s.Text))
		}
	}
	if f := r.Failed; f != nil {
		line("  " + head("failed step") + ": " + f.Text)
		line("    error: " + f.Error)
		for _, l := range f.Log {
			line("    | " + l)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func changeCounts(c *Changes) string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{c.Content, "changed"}, {c.Added, "added"}, {c.Removed, "removed"}, {c.Metadata, "metadata only"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	return strings.Join(parts, ", ")
}

func label(c Change) string {
	if c.Kind == Metadata {
		return "touched"
	}
	return string(c.Kind)
}

// dur is "0.4s" under a minute, "2m5s" above.
func dur(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", max(d, 0).Seconds())
	}
	return d.Round(time.Second).String()
}

// cut shortens s to width runes (escape sequences are not counted),
// ending it with "…".
func cut(s string, width int) string {
	n, esc := 0, false
	for i, r := range s {
		switch {
		case esc:
			esc = r != 'm'
			continue
		case r == '\x1b':
			esc = true
			continue
		}
		n++
		if n == width && len(s[i:]) > len(string(r)) && visible(s[i+len(string(r)):]) {
			return s[:i] + "…"
		}
	}
	return s
}

// visible says whether s prints anything besides escape sequences.
func visible(s string) bool {
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			return true
		}
	}
	return false
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
