// Command testsummary reads `go test -json` on stdin and prints what a plain
// `go test` prints (a line per package, the output of the tests that
// failed), then how many tests ran and skipped in each package and every
// skip with its reason. It exits 1 when a test or package failed, when a
// test skipped that the allow-list does not name, or when the allow-list
// cannot be read: scripts/test.sh (CI) must not go green on a test that
// skipped itself because a tool or a daemon was missing.
//
//	go test -json ./... | go run ./scripts/testsummary -allow scripts/allowed-skips.txt -module github.com/mybuild/mybuild
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	allowPath := flag.String("allow", "", "file of the tests that may skip (package, test, reason per line)")
	module := flag.String("module", "", "module path, left out of the package names printed")
	flag.Parse()
	os.Exit(run(os.Stdin, os.Stdout, *allowPath, *module))
}

func run(in io.Reader, out io.Writer, allowPath, module string) int {
	allowed := map[testID]string{}
	if allowPath != "" {
		f, err := os.Open(allowPath)
		if err != nil {
			fmt.Fprintln(out, "testsummary:", err)
			return 1
		}
		allowed, err = parseAllowList(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(out, "testsummary: %s: %v\n", allowPath, err)
			return 1
		}
	}
	s := newSummary(out, module)
	if err := s.read(in); err != nil {
		fmt.Fprintln(out, "testsummary:", err)
		return 1
	}
	return s.report(allowed)
}

// testID names a test (or subtest) by its package, without the module
// prefix, and its full name.
type testID struct{ pkg, name string }

func (id testID) String() string { return id.pkg + " " + id.name }

// parseAllowList reads lines of "<package> <test> <reason>"; blank lines and
// lines starting with # are comments. Every entry needs a reason.
func parseAllowList(r io.Reader) (map[testID]string, error) {
	allowed := map[testID]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: want a package, a test and the reason it may skip", n)
		}
		allowed[testID{f[0], f[1]}] = strings.Join(f[2:], " ")
	}
	return allowed, sc.Err()
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output
	Test       string
	Output     string
}

type counts struct{ ran, skipped int }

type summary struct {
	out    io.Writer
	module string

	pkgs    []string // in the order they finished
	counts  map[string]*counts
	skips   []skip
	failed  bool
	pending map[testID][]line // output of a running top-level test and its subtests
	failing map[testID]bool   // tests that failed below a running top-level test
}

type skip struct {
	id     testID
	reason string
}

type line struct {
	test string
	text string
}

func newSummary(out io.Writer, module string) *summary {
	return &summary{out: out, module: module, counts: map[string]*counts{}, pending: map[testID][]line{}, failing: map[testID]bool{}}
}

func (s *summary) read(in io.Reader) error {
	dec := json.NewDecoder(in)
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading go test -json: %w", err)
		}
		s.add(e)
	}
}

func (s *summary) short(pkg string) string {
	if s.module == "" {
		return pkg
	}
	if pkg == s.module {
		return "."
	}
	return strings.TrimPrefix(pkg, s.module+"/")
}

func (s *summary) add(e event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
		return
	case "build-fail":
		s.failed = true
		return
	}
	pkg := s.short(e.Package)
	if e.Test == "" {
		s.packageEvent(pkg, e)
		return
	}
	top := testID{pkg, strings.SplitN(e.Test, "/", 2)[0]}
	switch e.Action {
	case "output":
		s.pending[top] = append(s.pending[top], line{e.Test, e.Output})
	case "pass", "fail", "skip":
		c := s.count(pkg)
		if e.Action == "skip" {
			c.skipped++
			s.skips = append(s.skips, skip{testID{pkg, e.Test}, skipReason(s.pending[top], e.Test)})
		} else {
			c.ran++
		}
		if e.Action == "fail" {
			s.failed = true
			s.failing[testID{pkg, e.Test}] = true
		}
		if e.Test == top.name {
			s.endTop(top)
		}
	}
}

func (s *summary) count(pkg string) *counts {
	c := s.counts[pkg]
	if c == nil {
		c = &counts{}
		s.counts[pkg] = c
	}
	return c
}

// endTop prints the output of the tests that failed in the tree of top, in
// the order it came, as plain go test does.
func (s *summary) endTop(top testID) {
	for _, l := range s.pending[top] {
		if s.failing[testID{top.pkg, l.test}] && !framing(l.text) {
			fmt.Fprint(s.out, l.text)
		}
	}
	for id := range s.failing {
		if id.pkg == top.pkg && (id.name == top.name || strings.HasPrefix(id.name, top.name+"/")) {
			delete(s.failing, id)
		}
	}
	delete(s.pending, top)
}

func (s *summary) packageEvent(pkg string, e event) {
	switch e.Action {
	case "output":
		if e.Output != "PASS\n" {
			fmt.Fprint(s.out, e.Output)
		}
	case "fail":
		s.failed = true
		// A test binary that panicked or timed out leaves tests that
		// never ended: their output tells why.
		var running []testID
		for id := range s.pending {
			if id.pkg == pkg {
				running = append(running, id)
			}
		}
		slices.SortFunc(running, func(a, b testID) int { return strings.Compare(a.name, b.name) })
		for _, id := range running {
			for _, l := range s.pending[id] {
				if !framing(l.text) {
					fmt.Fprint(s.out, l.text)
				}
			}
			delete(s.pending, id)
		}
		fallthrough
	case "pass":
		s.count(pkg)
		s.pkgs = append(s.pkgs, pkg)
	}
}

// framing: the lines test2json passes on that plain go test does not print.
func framing(text string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(text, p) {
			return true
		}
	}
	return false
}

// skipReason is the last line the skipped test printed before its
// "--- SKIP" line: t.Skip's message, with its file and line.
func skipReason(lines []line, test string) string {
	reason := ""
	for _, l := range lines {
		text := strings.TrimSpace(l.text)
		if l.test != test || framing(l.text) || strings.HasPrefix(text, "--- SKIP") || text == "" {
			continue
		}
		reason = text
	}
	return reason
}

// report prints the counts and the skips and returns the exit status.
func (s *summary) report(allowed map[testID]string) int {
	slices.Sort(s.pkgs)
	width := len("package")
	for _, p := range s.pkgs {
		width = max(width, len(p))
	}
	fmt.Fprintf(s.out, "== tests per package (tests and subtests)\n%-*s  %6s  %7s\n", width, "package", "ran", "skipped")
	var total counts
	for _, p := range s.pkgs {
		c := s.counts[p]
		fmt.Fprintf(s.out, "%-*s  %6d  %7d\n", width, p, c.ran, c.skipped)
		total.ran += c.ran
		total.skipped += c.skipped
	}
	fmt.Fprintf(s.out, "%-*s  %6d  %7d\n", width, "total", total.ran, total.skipped)

	var unexpected []skip
	seen := map[testID]bool{}
	if len(s.skips) > 0 {
		fmt.Fprintln(s.out, "== skipped")
	}
	for _, sk := range s.skips {
		seen[sk.id] = true
		mark := ""
		if _, ok := allowed[sk.id]; !ok {
			unexpected = append(unexpected, sk)
			mark = "UNEXPECTED "
		}
		fmt.Fprintf(s.out, "%s%s: %s\n", mark, sk.id, sk.reason)
	}
	var stale []string
	for id := range allowed {
		if !seen[id] {
			stale = append(stale, id.String())
		}
	}
	slices.Sort(stale)
	for _, id := range stale {
		fmt.Fprintf(s.out, "note: %s is in the allow-list but did not skip\n", id)
	}
	status := 0
	if len(unexpected) > 0 {
		fmt.Fprintf(s.out, "FAIL: %d unexpected skip(s); fix the environment or the test, or add it to the allow-list with the reason\n", len(unexpected))
		status = 1
	}
	if s.failed {
		fmt.Fprintln(s.out, "FAIL: some tests failed")
		status = 1
	}
	return status
}
