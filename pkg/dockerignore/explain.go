package dockerignore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Rule is one pattern of a .dockerignore with the line it came from.
type Rule struct {
	Pattern string `json:"pattern"`
	Line    int    `json:"line"`
	// Anchored: the line starts with "/" (docker drops it). Such a
	// pattern is meant for the top of the context only.
	Anchored bool `json:"anchored,omitempty"`
}

// ReadRules returns dir/.dockerignore's patterns, as Read does, each with
// its 1-based line number.
func ReadRules(dir string) ([]Rule, error) {
	return ReadRulesFile(filepath.Join(dir, FileName))
}

// ReadRulesFile is ReadRules for an ignore file of any name (BuildKit
// reads <Dockerfile>.dockerignore first); none when it is absent.
func ReadRulesFile(path string) ([]Rule, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseRules(f)
}

// PatternError is a pattern docker cannot use, with where it was written.
type PatternError struct {
	File string // the ignore file's path
	Rule Rule
	Err  error
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("%s:%d: pattern %q: %v", e.File, e.Rule.Line, e.Rule.Pattern, e.Err)
}

func (e *PatternError) Unwrap() error { return e.Err }

// Check finds the first rule that docker's matcher refuses, either when
// the patterns are read or when one is first evaluated ("[z-a]", "\\1");
// file is the ignore file's path, for the message.
func Check(file string, rules []Rule) error {
	for _, r := range rules {
		err := checkPattern(r.Pattern)
		if err != nil {
			return &PatternError{File: file, Rule: r, Err: err}
		}
	}
	return nil
}

func checkPattern(p string) error {
	if _, err := patternmatcher.New([]string{p}); err != nil {
		return err
	}
	// An inclusion pattern is evaluated on a path without a parent: this
	// compiles it without any other pattern deciding first.
	pm, err := patternmatcher.New([]string{strings.TrimPrefix(p, "!")})
	if err != nil {
		return err
	}
	_, err = pm.MatchesOrParentMatches("x")
	return err
}

// parseRules reads .dockerignore content as ReadRules does.
func parseRules(r io.Reader) ([]Rule, error) {
	var rules []Rule
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line > 1 {
			// The parser drops a BOM from its first line only: a later
			// line keeps it, as it does in the whole file.
			text = "\n" + text
		}
		// One line through docker's own parser gives its pattern, if any.
		pats, err := ignorefile.ReadAll(strings.NewReader(text))
		if err != nil {
			return nil, err
		}
		anchored := isAnchored(text, line == 1)
		for _, p := range pats {
			rules = append(rules, Rule{Pattern: p, Line: line, Anchored: anchored})
		}
	}
	return rules, sc.Err()
}

// isAnchored: the pattern on this line starts with "/" (after a "!").
func isAnchored(line string, first bool) bool {
	if first {
		line = strings.TrimPrefix(line, "\uFEFF")
	}
	p := strings.TrimSpace(line)
	if strings.HasPrefix(p, "#") {
		return false
	}
	return strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(p, "!")), "/")
}

// Verdict says whether a path is sent and why.
type Verdict struct {
	Path string `json:"path"`
	Sent bool   `json:"sent"`
	// Rule is the line that decided, nil when no pattern applies.
	Rule *Rule `json:"rule,omitempty"`
	// Via is the excluded parent directory that keeps the path out, ""
	// when the path's own match decided.
	Via string `json:"via,omitempty"`
	// Kept names why an excluded path travels anyway: it is the
	// Dockerfile or the .dockerignore.
	Kept string `json:"kept,omitempty"`
	// Reason, when set, is why the path is not sent whatever the
	// patterns say: ReasonMissing, ReasonOutside or ReasonLink.
	Reason string `json:"reason,omitempty"`
}

// Reasons for a path that no pattern decides.
const (
	ReasonMissing = "missing" // nothing by that name in the context
	ReasonOutside = "outside" // the path is not inside the context
	// ReasonLink: Via is a symbolic link, sent as a link, not followed.
	ReasonLink = "symlink"
)

// ExplainPath is Explain for a path as a user gives it: relative to the
// context directory dir (absolute, symlinks resolved), or absolute. It
// says when the path does not exist, lies outside the context or below a
// symbolic link, none of which the patterns decide.
func ExplainPath(dir string, rules []Rule, dockerfile, given string) (Verdict, error) {
	rel, ok := contextRel(dir, given)
	if !ok {
		return Verdict{Path: given, Reason: ReasonOutside}, nil
	}
	parts := strings.Split(rel, "/")
	for i := range parts {
		if rel == "." {
			break
		}
		elem := strings.Join(parts[:i+1], "/")
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(elem)))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return Verdict{Path: rel, Reason: ReasonMissing}, nil
		}
		if err != nil {
			return Verdict{Path: rel}, err
		}
		if i < len(parts)-1 && fi.Mode()&fs.ModeSymlink != 0 {
			return Verdict{Path: rel, Via: elem, Reason: ReasonLink}, nil
		}
	}
	return Explain(rules, dockerfile, rel)
}

// contextRel turns a given path into a clean slash path relative to dir;
// ok is false when it lies outside.
func contextRel(dir, given string) (rel string, ok bool) {
	p := filepath.Clean(given)
	if filepath.IsAbs(p) {
		r, inside := relInside(dir, p)
		if !inside {
			// dir has its symlinks resolved; the given path's parent may
			// not (its last element is looked at in the context as is).
			parent, err := filepath.EvalSymlinks(filepath.Dir(p))
			if err != nil {
				return "", false
			}
			if r, inside = relInside(dir, filepath.Join(parent, filepath.Base(p))); !inside {
				return "", false
			}
		}
		p = r
	}
	p = filepath.ToSlash(p)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

func relInside(dir, abs string) (string, bool) {
	r, err := filepath.Rel(dir, abs)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return r, true
}

// Explain replays docker's tar walk down to path (slash-separated,
// relative to the context) and says whether the path is sent and which
// rule decided. dockerfile is the Dockerfile's path in the context ("" for
// -f -).
func Explain(rules []Rule, dockerfile, path string) (Verdict, error) {
	path = strings.Trim(filepath.ToSlash(filepath.Clean(path)), "/")
	v := Verdict{Path: path, Sent: true}
	texts := make([]string, len(rules))
	for i, r := range rules {
		texts[i] = r.Pattern
	}
	all := KeepBuildFiles(append([]string(nil), texts...), dockerfile, dockerfile == "")
	if path == "." || path == "" || len(all) == 0 {
		return v, nil
	}
	pm, err := patternmatcher.New(all)
	if err != nil {
		return v, err
	}
	parts := strings.Split(path, "/")
	info := patternmatcher.MatchInfo{}
	for i := range parts {
		elem := strings.Join(parts[:i+1], "/")
		skip, next, err := pm.MatchesUsingParentResults(elem, info)
		if err != nil {
			return v, err
		}
		info = next
		last := i == len(parts)-1
		if !skip {
			if last {
				v.Rule, v.Kept, err = decider(rules, all, parts[:i+1])
			}
			if err != nil {
				return v, err
			}
			continue
		}
		if last || !exceptionBelow(pm, elem) {
			v.Sent = false
			if !last {
				v.Via = elem
			}
			v.Rule, _, err = decider(rules, all, parts[:i+1])
			return v, err
		}
	}
	return v, nil
}

func exceptionBelow(pm *patternmatcher.PatternMatcher, dir string) bool {
	for _, p := range pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", dir+"/") {
			return true
		}
	}
	return false
}

// decider finds the last pattern whose addition changes the decision for
// the path (parts), replaying the parent-results walk with each prefix of
// the pattern list.
func decider(rules []Rule, all []string, parts []string) (*Rule, string, error) {
	prev := false
	found := -1
	for k := 1; k <= len(all); k++ {
		pm, err := patternmatcher.New(all[:k])
		if err != nil {
			return nil, "", err
		}
		info := patternmatcher.MatchInfo{}
		var res bool
		for i := range parts {
			if res, info, err = pm.MatchesUsingParentResults(strings.Join(parts[:i+1], "/"), info); err != nil {
				return nil, "", err
			}
		}
		if res != prev {
			found = k - 1
		}
		prev = res
	}
	switch {
	case found < 0:
		return nil, "", nil
	case found >= len(rules):
		return nil, strings.TrimPrefix(all[found], "!"), nil
	}
	r := rules[found]
	return &r, "", nil
}
