package contextadvice

import (
	"strings"

	"github.com/moby/patternmatcher"

	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// pattern is one pattern of the list docker's classic builder walks with.
type pattern struct {
	text      string // cleaned, without its "!", as patternmatcher keeps it
	exception bool   // a "!" pattern
	rule      int    // its index in Options.Rules, -1 for a kept build file
	one       *patternmatcher.PatternMatcher
}

// match reports whether the pattern matches path itself (not a parent).
func (p *pattern) match(path string) bool {
	ok, _ := p.one.MatchesUsingParentResult(path, false) //nolint:staticcheck // the pattern alone, on this path alone
	return ok
}

// matcher decides what docker's classic builder sends, as its tar walk
// does (patternmatcher's MatchesUsingParentResults, and a "!" pattern's
// literal prefix to enter an excluded directory), and which pattern
// decided. BuildKit reads other rules; a matcher of its own would sit
// beside this one.
type matcher struct {
	pats []pattern
}

func newMatcher(rules []dockerignore.Rule, dockerfile string, fromStdin bool) (*matcher, error) {
	texts := make([]string, len(rules))
	for i, r := range rules {
		texts[i] = r.Pattern
	}
	all := dockerignore.KeepBuildFiles(append([]string(nil), texts...), dockerfile, fromStdin)
	m := &matcher{}
	for i, t := range all {
		pm, err := patternmatcher.New([]string{t})
		if err != nil {
			return nil, err
		}
		if len(pm.Patterns()) == 0 {
			continue
		}
		p := pm.Patterns()[0]
		one, err := patternmatcher.New([]string{p.String()})
		if err != nil {
			return nil, err
		}
		rule := i
		if i >= len(rules) {
			rule = -1
		}
		m.pats = append(m.pats, pattern{text: p.String(), exception: p.Exclusion(), rule: rule, one: one})
	}
	return m, nil
}

// decide says whether path is excluded given its parent directory's
// matches (nil at the top), the matches to pass to its children, and the
// pattern that decided (the last to change the outcome, -1 for none).
// skip, when at least 0, is a pattern left out (to tell what it does).
func (m *matcher) decide(path string, parent []bool, skip int) (excluded bool, matches []bool, decider int) {
	matches = make([]bool, len(m.pats))
	decider = -1
	for i := range m.pats {
		p := &m.pats[i]
		if i == skip {
			continue
		}
		match := parent != nil && parent[i]
		if !match {
			// Exclusions are looked at only while the path is not
			// excluded, exceptions only while it is.
			if p.exception != excluded {
				continue
			}
			match = p.match(path)
		}
		matches[i] = match
		if match && excluded == p.exception {
			excluded, decider = !p.exception, i
		}
	}
	return excluded, matches, decider
}

// enters says whether docker's walk goes into the excluded directory dir:
// some "!" pattern (but skip) starts with "dir/".
func (m *matcher) enters(dir string, skip int) bool {
	for i, p := range m.pats {
		if i != skip && p.exception && strings.HasPrefix(p.text+"/", dir+"/") {
			return true
		}
	}
	return false
}
