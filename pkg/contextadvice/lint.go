package contextadvice

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	units "github.com/docker/go-units"

	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// Warning is a likely mistake in the context or its ignore file.
type Warning struct {
	// Kind is one of the Kind… constants.
	Kind    string             `json:"kind"`
	Message string             `json:"message"`
	Rule    *dockerignore.Rule `json:"rule,omitempty"`
	// Paths are examples, up to maxExamples; Count is how many in all.
	Paths []string `json:"paths,omitempty"`
	Count int      `json:"count,omitempty"`
}

// Kinds of Warning.
const (
	KindSecret      = "secret"             // sent, and looks like a secret
	KindUnused      = "unused"             // large, sent, read by no COPY or ADD
	KindNoMatch     = "matches-nothing"    // a pattern that matches no path
	KindTopOnly     = "top-level-only"     // "*.log" leaves logs/app.log in
	KindNoReinclude = "reincludes-nothing" // a "!" pattern that sends nothing more
	KindUnreadable  = "unreadable"         // a directory that could not be listed
)

const maxExamples = 5

// examples are the first paths of some kind, and how many there were.
type examples struct {
	paths []string
	n     int
}

func (e *examples) add(p string) {
	e.n++
	if len(e.paths) < maxExamples {
		e.paths = append(e.paths, p)
	}
}

func (e *examples) String() string {
	s := strings.Join(e.paths, ", ")
	if e.n > len(e.paths) {
		s += fmt.Sprintf(" and %d more", e.n-len(e.paths))
	}
	return s
}

// usage says what the Dockerfile's COPY and ADD read of an entry.
type usage int

const (
	useUnknown usage = iota // not looked at: the sources are not known
	useNone                 // nothing of it
	usePart                 // something below it
	useAll                  // all of it
)

// chain follows the walk without one "!" pattern, to tell whether that
// pattern sends anything.
type chain struct {
	active  bool
	matches []bool
}

// exception is what is known of one "!" rule.
type exception struct {
	pat    int  // its index in matcher.pats
	useful bool // something is sent because of it
	// blocked is a path it matches inside a directory docker does not
	// enter, and that directory.
	blocked, blocker string
	blockerRule      int
}

// lint gathers the warnings along the walk.
type lint struct {
	o         *Options
	m         *matcher
	unmatched []int // user patterns that matched no path yet
	topRules  []int // patterns that may be meant everywhere: see topLevel
	topHits   []examples
	excs      []exception
	sources   []string   // COPY and ADD sources
	srcParts  [][]string // the same, split
	secrets   examples
	unused    []unusedEntry
	unread    examples
}

type unusedEntry struct {
	path  string
	dir   bool
	bytes int64
}

func newLint(o *Options, m *matcher) *lint {
	l := &lint{o: o, m: m}
	for i, p := range m.pats {
		if p.rule < 0 {
			continue
		}
		l.unmatched = append(l.unmatched, i)
		switch {
		case p.exception:
			l.excs = append(l.excs, exception{pat: i})
		case !strings.Contains(p.text, "/") && !o.Rules[p.rule].Anchored:
			l.topRules = append(l.topRules, i)
		}
	}
	l.topHits = make([]examples, len(l.topRules))
	if o.Sources != nil {
		// The builder reads these two itself.
		l.sources = append([]string{dockerignore.FileName}, o.Sources...)
		if o.Dockerfile != "" && !strings.HasPrefix(o.Dockerfile, "../") {
			l.sources = append(l.sources, o.Dockerfile)
		}
	}
	for _, s := range l.sources {
		l.srcParts = append(l.srcParts, strings.Split(s, "/"))
	}
	return l
}

func (l *lint) rootUse() usage {
	switch {
	case l.o.Sources == nil:
		return useUnknown
	case slices.Contains(l.o.Sources, "."):
		return useAll
	}
	return usePart
}

func (l *lint) startChains() []chain {
	c := make([]chain, len(l.excs))
	for i := range c {
		c[i].active = true
	}
	return c
}

// see looks at an entry before what is below it: child is a directory's
// frame (nil for other entries), decider the pattern that decided (-1 for
// none: the entry is sent by default).
func (l *lint) see(rel string, f, child *frame, sent bool, decider int) usage {
	l.unmatched = slices.DeleteFunc(l.unmatched, func(i int) bool { return l.m.pats[i].match(rel) })
	if !f.active {
		l.blocked(rel, f)
		return useUnknown
	}
	l.reincluded(rel, f, child, sent)
	l.topLevel(rel, f, child, sent && decider < 0)
	use := l.use(rel, f.use)
	if child != nil {
		child.use = use
	} else if sent && looksSecret(rel) {
		l.secrets.add(rel)
	}
	return use
}

// blocked notes the "!" patterns that match inside a directory docker's
// walk does not enter: they re-include nothing there.
func (l *lint) blocked(rel string, f *frame) {
	for i := range l.excs {
		e := &l.excs[i]
		if !e.useful && e.blocked == "" && l.m.pats[e.pat].match(rel) {
			e.blocked, e.blocker, e.blockerRule = rel, f.blocker, f.blockerRule
		}
	}
}

// reincluded follows each "!" rule not yet known to send something: an
// entry sent with it and not without it is its proof.
func (l *lint) reincluded(rel string, f, child *frame, sent bool) {
	if child != nil {
		child.without = make([]chain, len(l.excs))
	}
	for i := range l.excs {
		e := &l.excs[i]
		c := f.without[i]
		if e.useful || !c.active {
			e.useful = e.useful || sent && !c.active
			continue
		}
		excluded, matches, _ := l.m.decide(rel, c.matches, e.pat)
		if sent && excluded {
			e.useful = true
		}
		if child != nil {
			child.without[i] = chain{active: !excluded || l.m.enters(rel, e.pat), matches: matches}
		}
	}
}

// topLevel counts, for each pattern without a slash ("*.log",
// "node_modules"), the entries it would match were it written with
// "**/" and that are sent: a pattern matches at the top of the context
// only. Below such an entry nothing more is counted; an entry a "!"
// pattern sends is meant to be sent.
func (l *lint) topLevel(rel string, f, child *frame, sentByDefault bool) {
	if child != nil {
		child.topMatched = f.topMatched
	}
	base := path.Base(rel)
	if !sentByDefault || base == rel {
		return
	}
	for k, i := range l.topRules {
		if f.topMatched != nil && f.topMatched[k] || !l.m.pats[i].match(base) {
			continue
		}
		l.topHits[k].add(rel)
		if child != nil {
			m := make([]bool, len(l.topRules))
			if f.topMatched != nil {
				copy(m, f.topMatched)
			}
			m[k] = true
			child.topMatched = m
		}
	}
}

// use is what COPY and ADD read of rel, given its parent's usage.
func (l *lint) use(rel string, parent usage) usage {
	if parent != usePart {
		return parent
	}
	parts := strings.Split(rel, "/")
	use := useNone
	for k, src := range l.sources {
		if ok, _ := filepath.Match(src, rel); ok {
			return useAll
		}
		if sp := l.srcParts[k]; len(sp) > len(parts) && prefixMatches(sp, parts) {
			use = usePart
		}
	}
	return use
}

func prefixMatches(src, parts []string) bool {
	for k, p := range parts {
		if ok, _ := filepath.Match(src[k], p); !ok {
			return false
		}
	}
	return true
}

// done is called with what was sent of an entry: an entry no source
// reads, below one that is read in part, is a candidate for a warning.
func (l *lint) done(rel string, dir bool, f *frame, use usage, sentBytes int64) {
	if use == useNone && f.use == usePart && sentBytes >= l.o.Large {
		l.unused = append(l.unused, unusedEntry{path: rel, dir: dir, bytes: sentBytes})
	}
}

func (l *lint) unreadable(rel string, err error) {
	if rel == "" {
		rel = "."
	}
	l.unread.add(fmt.Sprintf("%s (%v)", rel, errorsTail(err)))
}

// errorsTail is the end of a path error: "permission denied".
func errorsTail(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// secretNames are file names that hold credentials more often than not.
var secretNames = map[string]bool{
	".env": true, "id_rsa": true, "id_dsa": true, "id_ecdsa": true, "id_ed25519": true,
	".npmrc": true, ".pypirc": true, ".netrc": true, ".git-credentials": true, ".htpasswd": true,
}

// secretExts are the extensions of keys and key stores.
var secretExts = []string{".pem", ".key", ".p12", ".pfx"}

// secretIn are names that hold credentials in a directory of that name.
var secretIn = map[string]string{".aws": "credentials", ".docker": "config.json"}

// envTemplates are .env files without the values.
var envTemplates = map[string]bool{".env.example": true, ".env.sample": true, ".env.template": true, ".env.dist": true, ".env.defaults": true}

func looksSecret(rel string) bool {
	base := path.Base(rel)
	switch {
	case secretNames[base]:
		return true
	case strings.HasPrefix(base, ".env."):
		return !envTemplates[base]
	case slices.Contains(secretExts, path.Ext(base)):
		return true
	}
	return secretIn[path.Base(path.Dir(rel))] == base
}

// warnings are what the walk found, most harmful first.
func (l *lint) warnings(sent int64) []Warning {
	ws := []Warning{}
	if l.secrets.n > 0 {
		ws = append(ws, Warning{Kind: KindSecret, Paths: l.secrets.paths, Count: l.secrets.n,
			Message: fmt.Sprintf("%s sent: %s; list %s in %s", plural(l.secrets.n, "file that looks like a secret is", "files that look like secrets are"),
				l.secrets.String(), them(l.secrets.n), l.o.IgnoreFile)})
	}
	if len(l.unused) > 0 {
		slices.SortFunc(l.unused, func(a, b unusedEntry) int {
			if a.bytes != b.bytes {
				return int(min(max(b.bytes-a.bytes, -1), 1))
			}
			return strings.Compare(a.path, b.path)
		})
		var ex examples
		total := int64(0)
		for _, u := range l.unused {
			total += u.bytes
			p := u.path
			if u.dir {
				p += "/"
			}
			ex.add(fmt.Sprintf("%s (%s)", p, units.HumanSize(float64(u.bytes))))
		}
		w := Warning{Kind: KindUnused, Count: ex.n,
			Message: fmt.Sprintf("no COPY or ADD of %s reads %s: %s of the %s sent for nothing; list %s in %s",
				dockerfileName(l.o.Dockerfile), ex.String(), units.HumanSize(float64(total)), units.HumanSize(float64(sent)), them(ex.n), l.o.IgnoreFile)}
		for _, u := range l.unused[:min(len(l.unused), maxExamples)] {
			w.Paths = append(w.Paths, u.path)
		}
		ws = append(ws, w)
	}
	for i, p := range l.m.pats {
		if p.rule < 0 {
			continue
		}
		if w, ok := l.ruleWarning(i); ok {
			r := l.o.Rules[p.rule]
			w.Rule = &r
			w.Message = fmt.Sprintf("%s line %d: %q %s", l.o.IgnoreFile, r.Line, r.Pattern, w.Message)
			ws = append(ws, w)
		}
	}
	if l.unread.n > 0 {
		ws = append(ws, Warning{Kind: KindUnreadable, Paths: l.unread.paths, Count: l.unread.n,
			Message: "could not be read: " + l.unread.String()})
	}
	return ws
}

func dockerfileName(df string) string {
	if df == "" {
		return "the Dockerfile"
	}
	return df
}

// ruleWarning is what is wrong with pattern i, if anything.
func (l *lint) ruleWarning(i int) (Warning, bool) {
	p := l.m.pats[i]
	// Before "matches nothing": "*.log" may match no path at the top.
	if k := slices.Index(l.topRules, i); k >= 0 && l.topHits[k].n > 0 {
		h := &l.topHits[k]
		are := "is"
		if h.n > 1 {
			are = "are"
		}
		return Warning{Kind: KindTopOnly, Paths: h.paths, Count: h.n,
			Message: fmt.Sprintf("matches at the top of the context only: %s %s sent; write %q to leave %s out too",
				h.String(), are, "**/"+p.text, them(h.n))}, true
	}
	if slices.Contains(l.unmatched, i) {
		return Warning{Kind: KindNoMatch, Message: "matches nothing"}, true
	}
	for _, e := range l.excs {
		if e.pat != i || e.useful {
			continue
		}
		w := Warning{Kind: KindNoReinclude, Message: "re-includes nothing: what it matches is sent anyway, or excluded again by a later line"}
		if e.blocked != "" {
			by := ""
			if e.blockerRule >= 0 {
				by = fmt.Sprintf(" by line %d", l.o.Rules[e.blockerRule].Line)
			}
			w.Paths = []string{e.blocked}
			w.Message = fmt.Sprintf("re-includes nothing: it matches %s, but docker does not look inside %s/ (excluded%s) for a \"!\" pattern that does not start with %q",
				e.blocked, e.blocker, by, e.blocker+"/")
		}
		return w, true
	}
	return Warning{}, false
}

// them is "it" or "them".
func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// plural is "1 entry is sent" or "3 entries are sent".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
