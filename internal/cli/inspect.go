package cli

import (
	"archive/tar"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/dockerlog"
	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/contextadvice"
	"github.com/mybuild/mybuild/pkg/dockerfile"
	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// inspectOptions are mybuild's own flags for looking at a context without
// contacting the daemon (docker has none: moby/moby#16056).
type inspectOptions struct {
	List    string   // "", "auto", "tree", "plain" or "json"
	Top     int      // entries the tree shows
	Explain []string // paths to explain
}

// listFormats are the values of --list-context; listDefault is what it
// takes without one: tree on a terminal, plain otherwise.
var listFormats = []string{"tree", "plain", "json"}

const listDefault = "auto"

func (i inspectOptions) active() bool { return i.List != "" || len(i.Explain) > 0 }

func addInspectFlags(fl *pflag.FlagSet, in *inspectOptions) {
	fl.StringVar(&in.List, "list-context", "", `Show what would be sent, without contacting the daemon: "tree" (the heaviest entries, what is left out and why, likely mistakes; the default on a terminal), "plain" (every entry) or "json"`)
	fl.Lookup("list-context").NoOptDefVal = listDefault
	fl.IntVar(&in.Top, "list-top", 20, "Entries the --list-context tree shows (0 for all)")
	fl.Var((*stringList)(&in.Explain), "explain-path", "Say whether a context path is sent and which .dockerignore line decided, without contacting the daemon")
	for _, n := range []string{"list-context", "list-top", "explain-path"} {
		_ = fl.SetAnnotation(n, "mybuild", []string{"true"})
	}
}

// contextReport is the JSON form of --list-context.
type contextReport struct {
	Context    string                   `json:"context"`
	Dockerfile string                   `json:"dockerfile"`
	IgnoreFile string                   `json:"ignore_file"`
	Rules      []dockerignore.Rule      `json:"dockerignore"`
	Inventory  *buildcontext.Inventory  `json:"inventory,omitempty"`
	NotSent    *contextadvice.Count     `json:"not_sent,omitempty"`
	Excluded   []contextadvice.Excluded `json:"excluded,omitempty"`
	Warnings   []contextadvice.Warning  `json:"warnings,omitempty"`
	Explain    []dockerignore.Verdict   `json:"explain,omitempty"`
}

// inspection is what the extras look at: a local context and the ignore
// file that applies to it.
type inspection struct {
	local      *buildcontext.Local
	ignoreFile string // its path
	rules      []dockerignore.Rule
	// buildkit: BuildKit's rules (a <Dockerfile>.dockerignore wins, the
	// Dockerfile and ignore file are not kept in the context), else the
	// classic builder's.
	buildkit bool
}

// keep is the Dockerfile the classic builder sends whatever the ignore file
// says; BuildKit keeps none.
func (in *inspection) keep() string {
	if in.buildkit {
		return ""
	}
	return in.local.Dockerfile
}

// inspectRules says whose rules the extras apply, as the build would
// (they ask no daemon): DOCKER_BUILDKIT=0 is the classic builder's, else
// BuildKit's, which today's daemons build with.
func inspectRules(getenv func(string) string) (buildkit bool) {
	v := getenv("DOCKER_BUILDKIT")
	on, err := strconv.ParseBool(v)
	return v == "" || err != nil || on
}

// buildkitIgnoreFile is BuildKit's ignore file for the Dockerfile: the
// Dockerfile's own <name>.dockerignore beside it when there is one, else
// the context's .dockerignore.
func buildkitIgnoreFile(l *buildcontext.Local, dockerfileFlag string) string {
	if !l.DockerfileFromStdin {
		df := filepath.Join(l.Dir, filepath.FromSlash(l.Dockerfile))
		if dockerfileFlag != "" && l.Outside() {
			df = dockerfileFlag
		}
		if fi, err := os.Stat(df + ".dockerignore"); err == nil && fi.Mode().IsRegular() {
			return df + ".dockerignore"
		}
	}
	return filepath.Join(l.Dir, dockerignore.FileName)
}

// ignoreName is the ignore file as messages name it, from the context.
func (in *inspection) ignoreName() string {
	if rel, err := filepath.Rel(in.local.Dir, in.ignoreFile); err == nil {
		return filepath.ToSlash(rel)
	}
	return in.ignoreFile
}

// runInspect shows what a build of a local context would send, and says
// for given paths whether they are sent and which .dockerignore line
// decided.
func runInspect(ctx context.Context, o *BuildOptions) error {
	format := o.Inspect.List
	if format == listDefault {
		format = "plain"
		if o.IO.IsStdoutTTY() {
			format = "tree"
		}
	}
	if format != "" && format != "tree" && format != "plain" && format != "json" {
		return flagError(fmt.Errorf("invalid argument %q for \"--list-context\" flag: want tree, plain or json", o.Inspect.List))
	}
	if o.Inspect.Top < 0 {
		return flagError(fmt.Errorf("invalid argument \"%d\" for \"--list-top\" flag: want 0 (all) or more", o.Inspect.Top))
	}
	if _, err := os.Stat(o.Context); err != nil || o.Context == "-" {
		return fmt.Errorf("unable to inspect context: %q is not a local directory", o.Context)
	}
	local, err := buildcontext.ResolveLocal(o.Context, o.Dockerfile)
	if err != nil {
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	in := &inspection{local: local, ignoreFile: filepath.Join(local.Dir, dockerignore.FileName), buildkit: inspectRules(o.Getenv)}
	if in.buildkit {
		in.ignoreFile = buildkitIgnoreFile(local, o.Dockerfile)
	}
	if in.rules, err = dockerignore.ReadRulesFile(in.ignoreFile); err != nil {
		return err
	}
	if err := dockerignore.Check(in.ignoreFile, in.rules); err != nil {
		return err
	}
	var verdicts []dockerignore.Verdict
	notSent := false
	for _, p := range o.Inspect.Explain {
		v, err := dockerignore.ExplainPath(local.Dir, in.rules, in.keep(), p)
		if err != nil {
			return err
		}
		verdicts = append(verdicts, v)
		notSent = notSent || !v.Sent
	}
	switch format {
	case "tree":
		err = listTree(ctx, o, in)
	case "plain":
		err = listPlain(ctx, o, in)
	case "json":
		err = listJSON(ctx, o, in, verdicts)
	}
	if err != nil {
		return err
	}
	if format != "json" {
		for _, v := range verdicts {
			fmt.Fprintln(o.IO.Out, explainLine(v, local.Dir, in.ignoreName()))
		}
	}
	if notSent {
		// So that a CI step can assert that a path stays out.
		return &StatusError{Code: 1}
	}
	return nil
}

// advise walks the context for the adviser.
func advise(ctx context.Context, o *BuildOptions, in *inspection, top int, onExcluded func(contextadvice.Excluded)) (*contextadvice.Report, error) {
	return contextadvice.Walk(ctx, contextadvice.Options{
		Dir: in.local.Dir, IgnoreFile: in.ignoreName(), Rules: in.rules,
		Dockerfile: in.keep(), DockerfileFromStdin: in.local.DockerfileFromStdin && !in.buildkit,
		Sources: copySources(in.local), Top: top, OnExcluded: onExcluded,
	})
}

// copySources are the context paths the Dockerfile's COPY and ADD read,
// nil when they cannot be known (a Dockerfile from stdin, a variable).
func copySources(l *buildcontext.Local) []string {
	if l.DockerfileFromStdin {
		return nil
	}
	f, err := os.Open(filepath.Join(l.Dir, filepath.FromSlash(l.Dockerfile)))
	if err != nil {
		return nil
	}
	defer f.Close()
	ins, err := dockerfile.Parse(f)
	if err != nil {
		return nil
	}
	srcs, known := dockerfile.Sources(ins)
	if !known {
		return nil
	}
	return append([]string{}, srcs...)
}

func (in *inspection) header(w io.Writer) {
	fmt.Fprintf(w, "Context:       %s\n", in.local.Dir)
	df := in.local.Dockerfile
	if in.local.DockerfileFromStdin {
		df = "- (stdin)"
	}
	fmt.Fprintf(w, "Dockerfile:    %s\n", df)
	fmt.Fprintf(w, "%-14s %d patterns\n", in.ignoreName()+":", len(in.rules))
	if in.buildkit {
		fmt.Fprintf(w, "Rules:         BuildKit's (DOCKER_BUILDKIT=0 for the classic builder's)\n")
	} else {
		fmt.Fprintf(w, "Rules:         the classic builder's (DOCKER_BUILDKIT=0)\n")
	}
}

func listJSON(ctx context.Context, o *BuildOptions, in *inspection, verdicts []dockerignore.Verdict) error {
	rep := contextReport{Context: in.local.Dir, Dockerfile: in.local.Dockerfile, IgnoreFile: in.ignoreName(), Rules: in.rules, Explain: verdicts,
		Excluded: []contextadvice.Excluded{}}
	if rep.Rules == nil {
		rep.Rules = []dockerignore.Rule{}
	}
	if o.Inspect.List != "" {
		t, err := newInspectTar(o, in)
		if err != nil {
			return err
		}
		if rep.Inventory, err = buildcontext.TakeInventory(ctx, t); err != nil {
			return err
		}
		adv, err := advise(ctx, o, in, 1, func(e contextadvice.Excluded) { rep.Excluded = append(rep.Excluded, e) })
		if err != nil {
			return err
		}
		rep.NotSent, rep.Warnings = &adv.NotSent, adv.Warnings
	}
	enc := json.NewEncoder(o.IO.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func newInspectTar(o *BuildOptions, in *inspection) (*buildcontext.Tar, error) {
	excludes := make([]string, len(in.rules))
	for i, r := range in.rules {
		excludes[i] = r.Pattern
	}
	return buildcontext.NewTar(in.local.Dir, buildcontext.TarOptions{
		Excludes: excludes, Dockerfile: in.keep(), DockerfileFromStdin: in.local.DockerfileFromStdin && !in.buildkit,
		Warn: func(msg string) { dockerlog.Error(o.IO.ErrOut, msg) },
	})
}

// topDirs is how many directories the plain listing ranks.
const topDirs = 10

// listPlain prints every entry that would be sent as the tar walk finds
// it, then the largest directories and the adviser's warnings.
func listPlain(ctx context.Context, o *BuildOptions, in *inspection) error {
	w := o.IO.Out
	t, err := newInspectTar(o, in)
	if err != nil {
		return err
	}
	in.header(w)
	fmt.Fprintln(w, "\nEntries:")
	var d dirSizes
	entries, files, size := 0, 0, int64(0)
	err = t.List(ctx, func(h *tar.Header) {
		name := strings.TrimSuffix(h.Name, "/")
		entries++
		d.entry(name, h.Typeflag == tar.TypeDir, h.Size)
		if h.Typeflag != tar.TypeDir {
			files++
			size += h.Size
		}
		fmt.Fprintf(w, "  %10s  %s\n", entrySize(h), name+entrySuffix(h))
	})
	if err != nil {
		return err
	}
	if dirs := d.largest(); len(dirs) > 0 {
		fmt.Fprintln(w, "\nLargest directories:")
		for _, u := range dirs {
			fmt.Fprintf(w, "  %10s  %7d files  %s/\n", units.HumanSize(float64(u.Size)), u.Files, u.Path)
		}
	}
	fmt.Fprintf(w, "\nTotal: %d entries, %d files, %s of file data (before tar headers)\n", entries, files, units.HumanSize(float64(size)))
	adv, err := advise(ctx, o, in, 1, nil)
	if err != nil {
		return err
	}
	printWarnings(w, adv.Warnings)
	return nil
}

func entrySize(h *tar.Header) string {
	if h.Typeflag == tar.TypeReg {
		return units.HumanSize(float64(h.Size))
	}
	return "-"
}

func entrySuffix(h *tar.Header) string {
	switch h.Typeflag {
	case tar.TypeReg:
		return ""
	case tar.TypeDir:
		return "/"
	case tar.TypeSymlink, tar.TypeLink:
		return " -> " + h.Linkname
	}
	return " (" + buildcontext.TypeName(h.Typeflag) + ")"
}

// dirSizes ranks the directories of a depth-first walk by the file data
// below them, holding only the open ones and the largest.
type dirSizes struct {
	open []buildcontext.DirUsage // the directories the walk is in, outermost first
	top  dirHeap
}

func (d *dirSizes) entry(name string, isDir bool, size int64) {
	for len(d.open) > 0 && !strings.HasPrefix(name, d.open[len(d.open)-1].Path+"/") {
		d.close()
	}
	// The open directories are the first ancestors of name; a directory
	// with no entry of its own (excluded, with re-included entries below)
	// is opened all the same.
	var missing []string
	for p := path.Dir(name); p != "." && len(d.open)+len(missing) < strings.Count(name, "/"); p = path.Dir(p) {
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d.open = append(d.open, buildcontext.DirUsage{Path: missing[i]})
	}
	if isDir {
		d.open = append(d.open, buildcontext.DirUsage{Path: name})
		return
	}
	for i := range d.open {
		d.open[i].Size += size
		d.open[i].Files++
	}
}

func (d *dirSizes) close() {
	u := d.open[len(d.open)-1]
	d.open = d.open[:len(d.open)-1]
	heap.Push(&d.top, u)
	if len(d.top) > topDirs {
		heap.Pop(&d.top)
	}
}

func (d *dirSizes) largest() []buildcontext.DirUsage {
	for len(d.open) > 0 {
		d.close()
	}
	out := make([]buildcontext.DirUsage, len(d.top))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&d.top).(buildcontext.DirUsage)
	}
	return out
}

// dirHeap has the smallest directory first.
type dirHeap []buildcontext.DirUsage

func (h dirHeap) Len() int { return len(h) }
func (h dirHeap) Less(i, j int) bool {
	if h[i].Size != h[j].Size {
		return h[i].Size < h[j].Size
	}
	return h[i].Path > h[j].Path
}
func (h dirHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dirHeap) Push(x any)   { *h = append(*h, x.(buildcontext.DirUsage)) }
func (h *dirHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func printWarnings(w io.Writer, ws []contextadvice.Warning) {
	if len(ws) == 0 {
		return
	}
	fmt.Fprintln(w, "\nWarnings:")
	for _, x := range ws {
		fmt.Fprintf(w, "  ! %s\n", x.Message)
	}
}

func explainLine(v dockerignore.Verdict, context, ignore string) string {
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
		fmt.Fprintf(&b, "sent: %s is always sent, even when %s lists it", v.Kept, ignore)
	case v.Sent && v.Rule != nil:
		fmt.Fprintf(&b, "sent: re-included by %s line %d: %s", ignore, v.Rule.Line, v.Rule.Pattern)
	case v.Sent:
		fmt.Fprintf(&b, "sent: no %s pattern excludes it", ignore)
	case v.Via != "" && v.Rule != nil:
		fmt.Fprintf(&b, "not sent: its directory %s is excluded by %s line %d: %s", v.Via, ignore, v.Rule.Line, v.Rule.Pattern)
	case v.Via != "":
		fmt.Fprintf(&b, "not sent: its directory %s is excluded", v.Via)
	case v.Rule != nil:
		fmt.Fprintf(&b, "not sent: excluded by %s line %d: %s", ignore, v.Rule.Line, v.Rule.Pattern)
	default:
		b.WriteString("not sent")
	}
	return b.String()
}

// listTree prints the heaviest entries of the context as a tree, what is
// left out and by which line, and the adviser's warnings.
func listTree(ctx context.Context, o *BuildOptions, in *inspection) error {
	adv, err := advise(ctx, o, in, o.Inspect.Top, nil)
	if err != nil {
		return err
	}
	w := o.IO.Out
	in.header(w)
	fmt.Fprintf(w, "Sent:          %s in %d entries\n", units.HumanSize(float64(adv.Sent.Bytes)), adv.Sent.Entries)
	fmt.Fprintf(w, "Not sent:      %s in %d entries\n\n", units.HumanSize(float64(adv.NotSent.Bytes)), adv.NotSent.Entries)
	fmt.Fprintf(w, "%9s %9s\n", "SENT", "NOT SENT")
	treeLines(w, adv.Tree, "", "", in.ignoreName())
	printWarnings(w, adv.Warnings)
	return nil
}

// treeLines prints n and, below it, its children.
func treeLines(w io.Writer, n *contextadvice.Node, lead, branch, ignoreName string) {
	name := path.Base(n.Path)
	if n.Dir {
		name += "/"
	}
	note := ""
	if n.Excluded && n.Rule != nil {
		note = fmt.Sprintf("  %s line %d: %s", ignoreName, n.Rule.Line, n.Rule.Pattern)
	}
	if n.Excluded && n.Dir {
		note += fmt.Sprintf(" (%d entries)", n.NotSent.Entries)
	}
	fmt.Fprintf(w, "%9s %9s  %s%s%s%s\n", size(n.Sent.Bytes, !n.Excluded), size(n.NotSent.Bytes, n.NotSent.Entries > 0), lead, branch, name, note)
	if branch != "" {
		lead += map[bool]string{true: "    ", false: "│   "}[branch == "└── "]
	}
	for i, c := range n.Children {
		b := "├── "
		if i == len(n.Children)-1 && n.More == 0 {
			b = "└── "
		}
		treeLines(w, c, lead, b, ignoreName)
	}
	if n.More > 0 {
		fmt.Fprintf(w, "%9s %9s  %s└── … %d more\n", size(n.MoreSent, n.MoreSent > 0), size(n.MoreNotSent, n.MoreNotSent > 0), lead, n.More)
	}
}

// size is a column of the tree: blank where there is nothing to say.
func size(b int64, show bool) string {
	if !show {
		return ""
	}
	return units.HumanSize(float64(b))
}
