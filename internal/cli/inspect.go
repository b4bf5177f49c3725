package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	units "github.com/docker/go-units"

	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// inspectOptions are mybuild's own flags for looking at a context without
// contacting the daemon (docker has none: moby/moby#16056).
type inspectOptions struct {
	List    string   // "", "plain" or "json"
	Explain []string // paths to explain
}

// listFormats are the values of --list-context; listDefault is what it
// takes without one.
var listFormats = []string{"plain", "json"}

const listDefault = "plain"

func (i inspectOptions) active() bool { return i.List != "" || len(i.Explain) > 0 }

// contextReport is the JSON form of --list-context.
type contextReport struct {
	Context    string                  `json:"context"`
	Dockerfile string                  `json:"dockerfile"`
	Rules      []dockerignore.Rule     `json:"dockerignore"`
	Inventory  *buildcontext.Inventory `json:"inventory,omitempty"`
	Explain    []dockerignore.Verdict  `json:"explain,omitempty"`
}

// runInspect lists what a build of a local context would send, and says
// for given paths whether they are sent and which .dockerignore line
// decided.
func runInspect(ctx context.Context, o *BuildOptions) error {
	in := o.Inspect
	if in.List != "" && in.List != "plain" && in.List != "json" {
		return flagError(fmt.Errorf("invalid argument %q for \"--list-context\" flag: want plain or json", in.List))
	}
	if !statOK(o.Context) || o.Context == "-" {
		return fmt.Errorf("unable to inspect context: %q is not a local directory", o.Context)
	}
	local, err := buildcontext.ResolveLocal(o.Context, o.Dockerfile)
	if err != nil {
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	ignoreFile := filepath.Join(local.Dir, dockerignore.FileName)
	rules, err := dockerignore.ReadRulesFile(ignoreFile)
	if err != nil {
		return err
	}
	if err := dockerignore.Check(ignoreFile, rules); err != nil {
		return err
	}
	rep := contextReport{Context: local.Dir, Dockerfile: local.Dockerfile, Rules: rules}
	if rep.Rules == nil {
		rep.Rules = []dockerignore.Rule{}
	}
	if in.List != "" {
		excludes := make([]string, len(rules))
		for i, r := range rules {
			excludes[i] = r.Pattern
		}
		t, err := buildcontext.NewTar(local.Dir, buildcontext.TarOptions{
			Excludes: excludes, Dockerfile: local.Dockerfile, DockerfileFromStdin: local.DockerfileFromStdin,
			Warn: func(msg string) { logError(o.IO.ErrOut, msg) },
		})
		if err != nil {
			return err
		}
		if rep.Inventory, err = buildcontext.TakeInventory(ctx, t); err != nil {
			return err
		}
	}
	notSent := false
	for _, p := range in.Explain {
		v, err := dockerignore.ExplainPath(local.Dir, rules, local.Dockerfile, p)
		if err != nil {
			return err
		}
		rep.Explain = append(rep.Explain, v)
		notSent = notSent || !v.Sent
	}
	if in.List == "json" {
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(o.IO.Out, &rep)
	}
	if notSent {
		// So that a CI step can assert that a path stays out.
		return &StatusError{Code: 1}
	}
	return nil
}

// topDirs is how many directories the plain listing ranks.
const topDirs = 10

func printReport(w io.Writer, r *contextReport) {
	if inv := r.Inventory; inv != nil {
		fmt.Fprintf(w, "Context:       %s\n", r.Context)
		fmt.Fprintf(w, "Dockerfile:    %s\n", r.Dockerfile)
		fmt.Fprintf(w, ".dockerignore: %d patterns\n\n", len(r.Rules))
		if len(inv.Dirs) > 0 {
			fmt.Fprintln(w, "Largest directories:")
			for i, d := range inv.Dirs {
				if i == topDirs {
					break
				}
				fmt.Fprintf(w, "  %10s  %7d files  %s/\n", units.HumanSize(float64(d.Size)), d.Files, d.Path)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Entries (%d):\n", len(inv.Items))
		for _, it := range inv.Items {
			size, suffix := units.HumanSize(float64(it.Size)), ""
			switch it.Type {
			case "dir":
				size, suffix = "-", "/"
			case "symlink", "hardlink":
				size, suffix = "-", " -> "+it.Link
			case "file":
			default:
				size, suffix = "-", " ("+it.Type+")"
			}
			fmt.Fprintf(w, "  %10s  %s%s\n", size, it.Path, suffix)
		}
		fmt.Fprintf(w, "\nTotal: %d entries, %d files, %s of file data (before tar headers)\n", len(inv.Items), inv.Files, units.HumanSize(float64(inv.Size)))
	}
	for _, v := range r.Explain {
		fmt.Fprintln(w, explainLine(v, r.Context))
	}
}

func explainLine(v dockerignore.Verdict, context string) string {
	var b strings.Builder
	b.WriteString(v.Path + ": ")
	switch {
	case v.Reason == dockerignore.ReasonMissing:
		b.WriteString("not sent: it does not exist in the context")
	case v.Reason == dockerignore.ReasonOutside:
		fmt.Fprintf(&b, "not sent: it is outside the context %s", context)
	case v.Reason == dockerignore.ReasonLink:
		fmt.Fprintf(&b, "not sent: %s is a symbolic link, sent as a link (what it points to is not sent)", v.Via)
	case v.Kept != "" && v.Sent:
		fmt.Fprintf(&b, "sent: %s is always sent, even when .dockerignore lists it", v.Kept)
	case v.Sent && v.Rule != nil:
		fmt.Fprintf(&b, "sent: re-included by .dockerignore line %d: %s", v.Rule.Line, v.Rule.Pattern)
	case v.Sent:
		b.WriteString("sent: no .dockerignore pattern excludes it")
	case v.Via != "" && v.Rule != nil:
		fmt.Fprintf(&b, "not sent: its directory %s is excluded by .dockerignore line %d: %s", v.Via, v.Rule.Line, v.Rule.Pattern)
	case v.Via != "":
		fmt.Fprintf(&b, "not sent: its directory %s is excluded", v.Via)
	case v.Rule != nil:
		fmt.Fprintf(&b, "not sent: excluded by .dockerignore line %d: %s", v.Rule.Line, v.Rule.Pattern)
	default:
		b.WriteString("not sent")
	}
	return b.String()
}
