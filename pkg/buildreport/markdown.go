package buildreport

import (
	"fmt"
	"io"
	"strings"

	units "github.com/docker/go-units"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown, for a
// job's step summary.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	status := "✅ built"
	if !r.Success {
		status = "❌ failed"
	}
	fmt.Fprintf(&b, "### Build report: %s in %s\n\n", status, dur(r.Duration()))
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Steps cached | %d of %d |\n", r.StepsCached, r.StepsTotal)
	fmt.Fprintf(&b, "| Context sent | %s in %s |\n", units.HumanSize(float64(r.Context.Bytes)), plural(r.Context.Files, "file"))
	switch c := r.Changes; {
	case c == nil:
		b.WriteString("| Changes since the last build | unknown (no earlier build recorded) |\n")
	case c.Added+c.Removed+c.Content+c.Metadata == 0:
		b.WriteString("| Changes since the last build | none |\n")
	default:
		fmt.Fprintf(&b, "| Changes since the last build | %s |\n", changeCounts(c))
	}
	if m := r.FirstMiss; m != nil {
		fmt.Fprintf(&b, "| First cache miss | %s |\n| Why | %s |\n", cell(m.Step), cell(m.Detail))
	}
	if c := r.Changes; c != nil && len(c.Largest) > 0 {
		b.WriteString("\n| Change | Size | File |\n|---|---:|---|\n")
		for _, ch := range c.Largest {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", label(ch), units.HumanSize(float64(ch.Size)), cell(ch.Path))
		}
		if c.More > 0 {
			fmt.Fprintf(&b, "\nand %d more\n", c.More)
		}
	}
	if len(r.Slowest) > 0 {
		b.WriteString("\n| Slowest steps | Time |\n|---|---:|\n")
		for _, s := range r.Slowest {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(s.Text), dur(s.Duration()))
		}
	}
	if f := r.Failed; f != nil {
		fmt.Fprintf(&b, "\n**Failed step:** `%s`: %s\n", strings.ReplaceAll(f.Text, "`", "'"), f.Error)
		if len(f.Log) > 0 {
			b.WriteString("\n```\n" + strings.Join(f.Log, "\n") + "\n```\n")
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// cell escapes what would break a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}
