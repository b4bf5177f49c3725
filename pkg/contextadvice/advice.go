// Package contextadvice looks at a build context before it is sent: where
// its weight lies, what the ignore file keeps out and by which line, and
// the classic mistakes (a pattern that matches at the top only, a "!" that
// re-includes nothing, a pattern that matches nothing, large files that
// no COPY or ADD uses, files that look like secrets).
//
// It walks the tree once, as docker's classic builder would, and keeps
// the largest entries only: its memory does not grow with the number of
// files. The caller chooses the ignore file and passes its rules.
package contextadvice

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// Options say what to look at.
type Options struct {
	// Dir is the context directory (absolute, symlinks resolved).
	Dir string
	// IgnoreFile names the ignore file in warnings (".dockerignore").
	IgnoreFile string
	// Rules are the ignore file's patterns.
	Rules []dockerignore.Rule
	// Dockerfile is the Dockerfile's slash path in Dir, which the classic
	// builder sends even when listed; DockerfileFromStdin for -f -.
	Dockerfile          string
	DockerfileFromStdin bool
	// Sources are the context paths the Dockerfile's COPY and ADD read
	// (pkg/dockerfile); nil when they cannot be known, and then nothing is
	// said about unused files.
	Sources []string
	// Top is how many entries the tree keeps below its root; 0 keeps all.
	Top int
	// Large is the size from which an unused file or directory is worth a
	// warning (default 1 MB).
	Large int64
	// OnExcluded, when set, is called for every entry that is not sent,
	// with nothing sent below it, and whose parent is sent (or holds
	// something that is).
	OnExcluded func(Excluded)
}

// Count is entries and their file data.
type Count struct {
	Entries int   `json:"entries"`
	Files   int   `json:"files"` // entries that are not directories
	Bytes   int64 `json:"bytes"`
}

// Node is an entry of the tree.
type Node struct {
	Path string `json:"path"`
	Dir  bool   `json:"dir,omitempty"`
	// Sent and NotSent are the file data sent and left out, below a
	// directory (Sent.Entries counts the directory itself when it is sent).
	Sent    Count `json:"sent"`
	NotSent Count `json:"not_sent"`
	// Excluded: nothing of it is sent, because of Rule (nil when the
	// kept build files' exceptions decided, or for a socket).
	Excluded bool               `json:"excluded,omitempty"`
	Rule     *dockerignore.Rule `json:"rule,omitempty"`
	// Children are the largest entries below a directory, largest first;
	// More entries are not shown, with MoreSent and MoreNotSent bytes.
	Children    []*Node `json:"children,omitempty"`
	More        int     `json:"more,omitempty"`
	MoreSent    int64   `json:"more_sent,omitempty"`
	MoreNotSent int64   `json:"more_not_sent,omitempty"`

	depth    int
	children int // direct entries
}

// Weight is the file data below the node, sent or not.
func (n *Node) Weight() int64 { return n.Sent.Bytes + n.NotSent.Bytes }

// Excluded is an entry that is not sent, with nothing sent below it.
type Excluded struct {
	Path  string             `json:"path"`
	Dir   bool               `json:"dir,omitempty"`
	Count Count              `json:"count"`
	Rule  *dockerignore.Rule `json:"rule,omitempty"`
}

// Report is what Walk found.
type Report struct {
	Tree     *Node     `json:"-"`
	Sent     Count     `json:"sent"`
	NotSent  Count     `json:"not_sent"`
	Warnings []Warning `json:"warnings"`
}

// Walk looks at the context.
func Walk(ctx context.Context, o Options) (*Report, error) {
	if o.IgnoreFile == "" {
		o.IgnoreFile = dockerignore.FileName
	}
	if o.Large == 0 {
		o.Large = 1e6
	}
	m, err := newMatcher(o.Rules, o.Dockerfile, o.DockerfileFromStdin)
	if err != nil {
		return nil, err
	}
	w := &walker{ctx: ctx, o: o, m: m, top: newTop(o.Top), inodes: map[uint64]bool{}}
	w.lint = newLint(&w.o, m)
	root := frame{active: true, use: w.lint.rootUse()}
	root.without = w.lint.startChains()
	sum, err := w.walk(o.Dir, "", &root)
	if err != nil {
		return nil, err
	}
	tree := &Node{Path: ".", Dir: true, Sent: sum.sent, NotSent: sum.notSent, children: sum.children}
	w.top.build(tree)
	return &Report{Tree: tree, Sent: sum.sent, NotSent: sum.notSent, Warnings: w.lint.warnings(sum.sent.Bytes)}, nil
}

type walker struct {
	ctx    context.Context
	o      Options
	m      *matcher
	top    *top
	lint   *lint
	inodes map[uint64]bool // hard-linked files already counted
	// held are the entries left out below excluded directories that
	// docker's walk enters: reported only if something there is sent.
	held []*[]Excluded
}

func (w *walker) excluded(e Excluded) {
	if n := len(w.held); n > 0 {
		*w.held[n-1] = append(*w.held[n-1], e)
	} else if w.o.OnExcluded != nil {
		w.o.OnExcluded(e)
	}
}

// frame is what the walk knows about the directory it is in.
type frame struct {
	active  bool   // docker's tar walk is here: entries below may be sent
	matches []bool // the directory's pattern matches (nil at the top)
	// blocker is the excluded directory docker's walk did not enter, for
	// an inactive frame, and its rule.
	blocker     string
	blockerRule int
	use         usage
	without     []chain // see lint.startChains
	topMatched  []bool  // see lint.topLevel
}

// sums are the counts below a directory.
type sums struct {
	sent, notSent Count
	children      int
}

func (s *sums) add(o sums) {
	s.sent.Entries += o.sent.Entries
	s.sent.Files += o.sent.Files
	s.sent.Bytes += o.sent.Bytes
	s.notSent.Entries += o.notSent.Entries
	s.notSent.Files += o.notSent.Files
	s.notSent.Bytes += o.notSent.Bytes
}

func (w *walker) walk(abs, rel string, f *frame) (sums, error) {
	var total sums
	names, err := buildcontext.ReadNames(abs)
	if err != nil {
		w.lint.unreadable(rel, err)
		return total, nil
	}
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return total, context.Cause(w.ctx)
		}
		childRel, childAbs := name, filepath.Join(abs, name)
		if rel != "" {
			childRel = rel + "/" + name
		}
		fi, err := os.Lstat(childAbs)
		if err != nil {
			continue
		}
		s, err := w.entry(childAbs, childRel, fi, f)
		if err != nil {
			return total, err
		}
		total.add(s)
		if fi.Mode()&fs.ModeSocket == 0 {
			total.children++
		}
	}
	return total, nil
}

// entry looks at one entry and what is below it.
func (w *walker) entry(abs, rel string, fi fs.FileInfo, f *frame) (sums, error) {
	excluded, matches, decider := true, []bool(nil), -1
	if f.active {
		excluded, matches, decider = w.m.decide(rel, f.matches, -1)
	}
	isDir := fi.IsDir()
	sendable := fi.Mode()&fs.ModeSocket == 0 // docker's tar writer skips sockets
	sent := f.active && !excluded && sendable
	var child *frame
	if isDir {
		child = &frame{matches: matches, blocker: f.blocker, blockerRule: f.blockerRule}
		child.active = f.active && (!excluded || w.m.enters(rel, -1))
		if f.active && !child.active {
			child.blocker, child.blockerRule = rel, w.m.ruleOf(decider)
		}
	}
	use := w.lint.see(rel, f, child, sent, decider)
	var s sums
	if isDir {
		hold := excluded && child.active && w.o.OnExcluded != nil
		if hold {
			w.held = append(w.held, new([]Excluded))
		}
		sub, err := w.walk(abs, rel, child)
		if err != nil {
			return s, err
		}
		s = sub
		if hold {
			below := *w.held[len(w.held)-1]
			w.held = w.held[:len(w.held)-1]
			for _, e := range below {
				if s.sent.Entries > 0 {
					w.excluded(e)
				}
			}
		}
		if sent {
			s.sent.Entries++
		} else {
			s.notSent.Entries++
		}
	} else if sendable {
		size := int64(0)
		if fi.Mode().IsRegular() {
			size = fi.Size()
			if ino, n := inode(fi); n > 1 && sent {
				if w.inodes[ino] {
					size = 0 // sent as a hard link to the first one
				}
				w.inodes[ino] = true
			}
		}
		if c := (Count{Entries: 1, Files: 1, Bytes: size}); sent {
			s.sent = c
		} else {
			s.notSent = c
		}
	}
	if !f.active || !sendable {
		return s, nil // inside a subtree shown as one entry, or a socket
	}
	w.lint.done(rel, isDir, f, use, s.sent.Bytes)
	nd := &Node{Path: rel, Dir: isDir, Sent: s.sent, NotSent: s.notSent, depth: strings.Count(rel, "/"), children: s.children}
	if s.sent.Entries == 0 {
		nd.Excluded, nd.Rule = true, w.m.rule(w.o.Rules, decider)
		if isDir && child.active {
			w.top.dropBelow(rel) // entered, but nothing was sent after all
		}
		w.excluded(Excluded{Path: rel, Dir: isDir, Count: s.notSent, Rule: nd.Rule})
	}
	w.top.offer(nd)
	return s, nil
}

// ruleOf is the rule index of pattern i, -1 for none.
func (m *matcher) ruleOf(i int) int {
	if i < 0 {
		return -1
	}
	return m.pats[i].rule
}

// rule is the rule of pattern i, nil for none or a kept build file.
func (m *matcher) rule(rules []dockerignore.Rule, i int) *dockerignore.Rule {
	if r := m.ruleOf(i); r >= 0 {
		return &rules[r]
	}
	return nil
}
