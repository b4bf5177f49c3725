//go:build linux

package buildkit

import (
	"bufio"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

var (
	reDigest  = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	reHex     = regexp.MustCompile(`\b[0-9a-f]{32,64}\b`)
	reRef     = regexp.MustCompile(`\b[a-z0-9]{25}\b`)
	reTime    = regexp.MustCompile(`\b\d+(\.\d+)?s\b`)
	reSize    = regexp.MustCompile(`\b\d+(\.\d+)? ?([kMGT]i?)?B\b`)
	reVertex  = regexp.MustCompile(`^#(\d+) (.*)$`)
	reLog     = regexp.MustCompile(`^\d+\.\d+ ?(.*)$`)
	reLogTime = regexp.MustCompile(`^(\s*)\d+\.\d+ `)
	// A status still running or done: "transferring context: 2.10kB 0.1s done".
	reTransfer = regexp.MustCompile(`^(transferring [^:]+:).*$`)
)

// mask replaces what differs from run to run: digests, IDs, build refs,
// sizes and times.
func mask(s string) string {
	s = reDigest.ReplaceAllString(s, "sha256:D")
	s = reHex.ReplaceAllString(s, "HEX")
	s = reRef.ReplaceAllString(s, "REF")
	s = reSize.ReplaceAllString(s, "SIZE")
	return reTime.ReplaceAllString(s, "T")
}

// vertex is one step of the progress as compared: how it ended (DONE,
// CACHED, CANCELED or its ERROR line), what it logged, and the statuses it
// showed, each once.
type vertex struct {
	Name     string
	End      string
	Logs     []string
	Statuses []string
}

// progress is a build's progress read as vertices, sorted by name (their
// numbers and their interleaving follow the daemon's timing), and the text
// before the first and after the last: the builder line, warnings, the
// error context and the ERROR: summary, exactly but masked.
type progress struct {
	Before   []string
	Vertices []vertex
	After    []string
}

// parsePlain reads --progress=plain output.
func parsePlain(stderr string) progress {
	var p progress
	byNum := map[string]*vertex{}
	var order []string
	started := false
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		m := reVertex.FindStringSubmatch(line)
		if m == nil || m[1] == "0" {
			if strings.TrimSpace(line) == "" {
				continue
			}
			// The error context quotes the step's logs with their times.
			line = reLogTime.ReplaceAllString(mask(line), "${1}T ")
			if started {
				p.After = append(p.After, line)
			} else {
				p.Before = append(p.Before, line)
			}
			continue
		}
		started = true
		num, rest := m[1], m[2]
		v, ok := byNum[num]
		if !ok {
			byNum[num] = &vertex{Name: mask(rest)}
			order = append(order, num)
			continue
		}
		switch {
		case rest == "..." || mask(rest) == v.Name: // resumed after another vertex
		case rest == "CACHED" || rest == "CANCELED" || strings.HasPrefix(rest, "DONE"):
			v.End = strings.Fields(rest)[0]
		case strings.HasPrefix(rest, "ERROR"):
			v.End = mask(rest)
		case reLog.MatchString(rest):
			v.Logs = append(v.Logs, mask(reLog.FindStringSubmatch(rest)[1]))
		default:
			v.addStatus(rest)
		}
	}
	for _, n := range order {
		p.Vertices = append(p.Vertices, byNum[n].settled())
	}
	sortVertices(p.Vertices)
	return p
}

// addStatus adds a status line once, without its time and "done": the
// same status is printed while it runs and when it is done.
func (v *vertex) addStatus(s string) {
	s = strings.TrimSuffix(mask(s), " done")
	s = strings.TrimSuffix(s, " T")
	s = reTransfer.ReplaceAllString(s, "$1")
	if !slices.Contains(v.Statuses, s) {
		v.Statuses = append(v.Statuses, s)
	}
}

func (v *vertex) settled() vertex {
	out := *v
	slices.Sort(out.Statuses)
	return out
}

func sortVertices(vs []vertex) {
	slices.SortStableFunc(vs, func(a, b vertex) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		return strings.Compare(string(x), string(y))
	})
}

// rawStatus is one line of --progress=rawjson: buildkit's SolveStatus.
type rawStatus struct {
	Vertexes []struct {
		Digest    string
		Name      string
		Cached    bool
		Completed *string
		Error     string
	}
	Statuses []struct {
		ID        string
		Vertex    string
		Completed *string
	}
	Logs []struct {
		Vertex string
		Stream int
		Data   []byte
	}
	Warnings []struct {
		Vertex string
		Short  []byte
	}
}

// parseRawJSON reads --progress=rawjson output into the same vertices as
// the plain output: names, ends, logs (joined per vertex, then by line) and
// status IDs; lines that are not JSON (the error summary) are kept as text.
func parseRawJSON(stderr string) progress {
	var p progress
	byDigest := map[string]*vertex{}
	logs := map[string]*strings.Builder{}
	var order []string
	get := func(d string) *vertex {
		if v, ok := byDigest[d]; ok {
			return v
		}
		v := &vertex{}
		byDigest[d] = v
		logs[d] = &strings.Builder{}
		order = append(order, d)
		return v
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		var st rawStatus
		if json.Unmarshal([]byte(line), &st) != nil {
			if strings.TrimSpace(line) != "" {
				p.After = append(p.After, mask(line))
			}
			continue
		}
		for _, rv := range st.Vertexes {
			v := get(rv.Digest)
			v.Name = mask(rv.Name)
			switch {
			case rv.Error != "" && strings.Contains(rv.Error, "context canceled"):
				v.End = "CANCELED"
			case rv.Error != "":
				v.End = "ERROR: " + mask(rv.Error)
			case rv.Cached:
				v.End = "CACHED"
			case rv.Completed != nil:
				v.End = "DONE"
			}
		}
		for _, s := range st.Statuses {
			get(s.Vertex).addStatus(s.ID)
		}
		for _, l := range st.Logs {
			get(l.Vertex)
			logs[l.Vertex].Write(l.Data)
		}
		for _, w := range st.Warnings {
			get(w.Vertex).addStatus("warning: " + string(w.Short))
		}
	}
	for _, d := range order {
		v := byDigest[d]
		if text := strings.TrimRight(logs[d].String(), "\n"); text != "" {
			for _, l := range strings.Split(text, "\n") {
				v.Logs = append(v.Logs, mask(l))
			}
		}
		p.Vertices = append(p.Vertices, v.settled())
	}
	sortVertices(p.Vertices)
	return p
}
