package dockerignore

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Rule is one pattern of a .dockerignore with the line it came from.
type Rule struct {
	Pattern string `json:"pattern"`
	Line    int    `json:"line"`
}

// ReadRules returns dir/.dockerignore's patterns, as Read does, each with
// its 1-based line number.
func ReadRules(dir string) ([]Rule, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseRules(f)
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
		for _, p := range pats {
			rules = append(rules, Rule{Pattern: p, Line: line})
		}
	}
	return rules, sc.Err()
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
