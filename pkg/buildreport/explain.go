package buildreport

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	units "github.com/docker/go-units"

	"github.com/mybuild/mybuild/pkg/dockerfile"
)

// Reason says why a step missed the cache.
type Reason string

const (
	NoCache        Reason = "no-cache"            // --no-cache
	NoCacheFilter  Reason = "no-cache-filter"     // --no-cache-filter named its stage
	NoRecord       Reason = "no-record"           // no earlier build of this context is known
	Platform       Reason = "platform-changed"    // --platform differs
	BaseChanged    Reason = "base-changed"        // its stage's base image resolved to another digest
	Instruction    Reason = "instruction-changed" // its text (or an earlier one of its stage) changed
	FilesChanged   Reason = "files-changed"       // files it copies changed in content
	MetadataOnly   Reason = "metadata-changed"    // files it copies changed in mtime, mode or owner only
	BuildArg       Reason = "build-arg-changed"   // a build arg differs
	Target         Reason = "target-changed"      // --target differs
	CachePruned    Reason = "cache-pruned"        // nothing changed, yet no step was cached
	UnknownReason  Reason = "unknown"             // nothing mybuild records explains it
	maxNamedInMiss        = 1
)

// Miss is the first step that missed the cache and why.
type Miss struct {
	Step   string `json:"step"`
	Stage  string `json:"stage,omitempty"`
	Reason Reason `json:"reason"`
	// Detail is the explanation in one line, as printed.
	Detail string   `json:"detail"`
	Old    string   `json:"old,omitempty"`   // instruction, target or platform before
	New    string   `json:"new,omitempty"`   // and now
	Names  []string `json:"names,omitempty"` // build args or base images that differ
	Files  []Change `json:"files,omitempty"` // files read by the step that changed, largest first
}

// explain finds the first step that missed the cache and why. prev is
// the record of the last build (nil: none), diff its file diff (nil:
// not known).
func explain(b Build, prev *meta, diff *FileDiff) *Miss {
	idx := -1
	for i, s := range b.Steps {
		if !s.Cached && !s.IsFrom() {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil
	}
	s := b.Steps[idx]
	m := &Miss{Step: s.Text, Stage: s.Stage}
	set := func(r Reason, format string, a ...any) *Miss {
		m.Reason, m.Detail = r, fmt.Sprintf(format, a...)
		return m
	}
	switch {
	case b.NoCache:
		return set(NoCache, "--no-cache was given")
	case s.Stage != "" && slices.Contains(b.NoCacheFilter, s.Stage):
		return set(NoCacheFilter, "--no-cache-filter names stage %s", s.Stage)
	case prev == nil:
		return set(NoRecord, "unknown: no earlier build of this context is recorded")
	}
	if !slices.Equal(b.Platforms, prev.Platforms) {
		m.Old, m.New = strings.Join(prev.Platforms, ","), strings.Join(b.Platforms, ",")
		return set(Platform, "--platform differs: %s → %s", orNone(m.Old), orNone(m.New))
	}
	if ref, ok := stageBase(b.Steps, s.Stage); ok {
		if old, now := prev.Bases[ref], b.Bases[ref]; old != "" && now != "" && old != now {
			m.Names, m.Old, m.New = []string{ref}, old, now
			return set(BaseChanged, "base image %s resolved to another digest: %s → %s", ref, short(old), short(now))
		}
	}
	stepsKnown := len(prev.Steps) > 0 // a quiet classic build shows none
	if r := instructionChange(b.Steps, prev.Steps, idx); stepsKnown && r != nil {
		m.Old, m.New = r.old, r.new
		return set(Instruction, "%s", r.detail)
	}
	if in, ok := parseStep(s.Text); ok && (in.Cmd == "COPY" || in.Cmd == "ADD") {
		if diff != nil {
			srcs, known := dockerfile.Sources([]dockerfile.Instruction{in})
			if !known {
				srcs = []string{"."}
			}
			read := readBy(diff.Changes, srcs)
			var content, meta []Change
			for _, c := range read {
				if c.Kind == Metadata {
					meta = append(meta, c)
				} else {
					content = append(content, c)
				}
			}
			if len(content) > 0 {
				m.Files, _ = Largest(content, len(content))
				return set(FilesChanged, "%s: %s", s.Text, changeList(m.Files))
			}
			if len(meta) > 0 {
				m.Files, _ = Largest(meta, len(meta))
				return set(MetadataOnly, "%s: only metadata changed (mtime, mode, owner): %s", s.Text, changeList(m.Files))
			}
		}
	}
	if names := changedArgs(b.Args, prev); len(names) > 0 {
		m.Names = names
		return set(BuildArg, "build arg %s differs", strings.Join(names, ", "))
	}
	if b.Target != prev.Target {
		m.Old, m.New = prev.Target, b.Target
		return set(Target, "--target differs: %s → %s", orNone(prev.Target), orNone(b.Target))
	}
	if !stepsKnown {
		return set(UnknownReason, "unknown: the last build recorded no steps (its output was quiet)")
	}
	if noneCached(b.Steps) {
		return set(CachePruned, "unknown: nothing recorded changed, yet no step was cached: the builder's cache was pruned or is not the last build's")
	}
	return set(UnknownReason, "unknown: nothing mybuild records changed for this step")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// short is a digest or ID cut to 12 hex digits.
func short(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 {
		d = d[i+1:]
	}
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

// changeList is "src/main.go changed (8.2kB), 2 more".
func changeList(cs []Change) string {
	c := cs[0]
	what := string(c.Kind)
	if c.Kind == Metadata {
		what = "touched"
	}
	s := fmt.Sprintf("%s %s (%s)", c.Path, what, units.HumanSize(float64(c.Size)))
	if len(cs) > maxNamedInMiss {
		s += fmt.Sprintf(", %d more", len(cs)-maxNamedInMiss)
	}
	return s
}

func noneCached(steps []Step) bool {
	for _, s := range steps {
		if s.Cached && !s.IsFrom() {
			return false
		}
	}
	return true
}

func parseStep(text string) (dockerfile.Instruction, bool) {
	ins, err := dockerfile.Parse(strings.NewReader(text))
	if err != nil || len(ins) != 1 {
		return dockerfile.Instruction{}, false
	}
	return ins[0], true
}

func instrCmd(text string) string {
	f := strings.Fields(text)
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(f[0])
}

// stageBase is the image the FROM of stage builds on.
func stageBase(steps []Step, stage string) (string, bool) {
	for _, s := range steps {
		if s.Stage == stage && s.IsFrom() {
			if in, ok := parseStep(s.Text); ok && len(in.Args) > 0 {
				return in.Args[0], true
			}
		}
	}
	return "", false
}

type instrDiff struct{ old, new, detail string }

// instructionChange compares the steps of the missed step's stage up to
// it with those of the last build, as the cache does: a step is reused
// only after the same chain of instructions.
func instructionChange(cur []Step, prev []metaStep, idx int) *instrDiff {
	stage := cur[idx].Stage
	var now []string
	pos := -1
	for i, s := range cur {
		if s.Stage == stage {
			if i == idx {
				pos = len(now)
			}
			now = append(now, s.Text)
		}
	}
	var was []string
	for _, s := range prev {
		if s.Stage == stage {
			was = append(was, s.Text)
		}
	}
	for j := 0; j <= pos; j++ {
		switch {
		case j >= len(was):
			return &instrDiff{new: now[j], detail: fmt.Sprintf("instruction new since the last build: %s", now[j])}
		case was[j] == now[j]:
			continue
		case j+1 < len(now) && was[j] == now[j+1]:
			return &instrDiff{new: now[j], detail: fmt.Sprintf("instruction inserted: %s", now[j])}
		case j+1 < len(was) && was[j+1] == now[j]:
			return &instrDiff{old: was[j], detail: fmt.Sprintf("instruction removed before it: %s", was[j])}
		default:
			return &instrDiff{old: was[j], new: now[j], detail: fmt.Sprintf("instruction changed: %s → %s", was[j], now[j])}
		}
	}
	return nil
}

// changedArgs are the names of build args given now or then whose value
// differs, sorted.
func changedArgs(now map[string]string, prev *meta) []string {
	var names []string
	for k, v := range now {
		if a, ok := prev.Args[k]; !ok || a.Hash != argHash(prev.Salt, k, v) {
			names = append(names, k)
		}
	}
	for k := range prev.Args {
		if _, ok := now[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}
