// Package dockerfile reads what mybuild's extras need from a Dockerfile,
// without building anything: the names of its stages (to complete
// --target) and the context paths its COPY and ADD instructions read (to
// find what a context sends for nothing). It is no full parser: variables
// are not expanded, and what it cannot know it says so.
package dockerfile

import (
	"bufio"
	"encoding/json"
	"io"
	"path"
	"regexp"
	"strings"
)

// Instruction is one instruction, its continuation lines joined.
type Instruction struct {
	Line  int      // where it starts, from 1
	Cmd   string   // upper case: FROM, COPY, …
	Flags []string // the leading --flags, as written
	Args  []string // the rest: the JSON form decoded, else split at blanks
}

var (
	directive = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)
	heredoc   = regexp.MustCompile(`^<<(-?)(["']?)([A-Za-z0-9_]+)(["']?)$`)
)

// Parse reads the instructions of a Dockerfile. Comments, parser
// directives (the escape character is honoured) and here-document bodies
// are skipped.
func Parse(r io.Reader) ([]Instruction, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	escape := byte('\\')
	var out []Instruction
	var cur strings.Builder
	start, lineNo := 0, 0
	directives := true
	var ends []heredocEnd
	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if len(ends) > 0 {
			if ends[0].matches(line) {
				ends = ends[1:]
			}
			continue
		}
		trimmed := strings.TrimSpace(line)
		if directives {
			if m := directive.FindStringSubmatch(trimmed); m != nil {
				if strings.EqualFold(m[1], "escape") && len(m[2]) == 1 {
					escape = m[2][0]
				}
				continue
			}
			directives = false
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue // also inside a continuation, as docker reads it
		}
		if cur.Len() == 0 {
			start = lineNo
		}
		if t := strings.TrimRight(line, " \t"); len(t) > 0 && t[len(t)-1] == escape {
			cur.WriteString(t[:len(t)-1])
			continue
		}
		cur.WriteString(line)
		in := split(start, cur.String())
		cur.Reset()
		if in.Cmd == "" {
			continue
		}
		out = append(out, in)
		ends = heredocs(in)
	}
	if cur.Len() > 0 {
		if in := split(start, cur.String()); in.Cmd != "" {
			out = append(out, in)
		}
	}
	return out, sc.Err()
}

// heredocEnd is the line that ends a here-document body.
type heredocEnd struct {
	word     string
	stripTab bool
}

func (h heredocEnd) matches(line string) bool {
	if h.stripTab {
		line = strings.TrimLeft(line, "\t")
	}
	return line == h.word
}

func heredocs(in Instruction) []heredocEnd {
	var ends []heredocEnd
	for _, a := range in.Args {
		if m := heredoc.FindStringSubmatch(a); m != nil && m[2] == m[4] {
			ends = append(ends, heredocEnd{word: m[3], stripTab: m[1] == "-"})
		}
	}
	return ends
}

func split(line int, text string) Instruction {
	text = strings.TrimSpace(text)
	end := strings.IndexAny(text, " \t")
	if end < 0 {
		end = len(text)
	}
	in := Instruction{Line: line, Cmd: strings.ToUpper(text[:end])}
	rest := strings.TrimSpace(text[end:])
	fields := strings.Fields(rest)
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		in.Flags = append(in.Flags, fields[0])
		rest = strings.TrimSpace(strings.TrimPrefix(rest, fields[0]))
		fields = fields[1:]
	}
	var list []string
	if strings.HasPrefix(rest, "[") && json.Unmarshal([]byte(rest), &list) == nil {
		in.Args = list
	} else {
		in.Args = fields
	}
	return in
}

// Stages are the names given with FROM … AS name, in order.
func Stages(ins []Instruction) []string {
	var names []string
	for _, n := range FromNames(ins) {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// FromNames has an entry for each FROM, in order: its AS name, "" for an
// unnamed stage (BuildKit numbers those).
func FromNames(ins []Instruction) []string {
	var names []string
	for _, in := range ins {
		if in.Cmd != "FROM" {
			continue
		}
		name := ""
		if len(in.Args) == 3 && strings.EqualFold(in.Args[1], "AS") {
			name = in.Args[2]
		}
		names = append(names, name)
	}
	return names
}

// Sources are the context paths that COPY and ADD read (clean, relative
// to the context, "." for all of it; wildcards kept), not those of
// another stage (--from), URLs or here-documents. known is false when a
// source names a variable: what it reads cannot be told then.
func Sources(ins []Instruction) (srcs []string, known bool) {
	for _, in := range ins {
		if in.Cmd != "COPY" && in.Cmd != "ADD" || len(in.Args) < 2 || hasFlag(in.Flags, "--from") {
			continue
		}
		for _, s := range in.Args[:len(in.Args)-1] {
			switch {
			case strings.HasPrefix(s, "<<"):
			case in.Cmd == "ADD" && (strings.Contains(s, "://") || strings.HasPrefix(s, "git@")):
			case strings.Contains(s, "$"):
				return nil, false
			default:
				srcs = append(srcs, strings.TrimPrefix(path.Clean("/"+s), "/"))
			}
		}
	}
	for i, s := range srcs {
		if s == "" {
			srcs[i] = "."
		}
	}
	return srcs, true
}

func hasFlag(flags []string, name string) bool {
	for _, f := range flags {
		if f == name || strings.HasPrefix(f, name+"=") {
			return true
		}
	}
	return false
}
