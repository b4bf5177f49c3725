package testbed

import (
	"bufio"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

var (
	ReDigest = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	reHex    = regexp.MustCompile(`\b[0-9a-f]{32,64}\b`)
	reRef    = regexp.MustCompile(`\b[a-z0-9]{25}\b`)
	// Steps alike on two platforms are one vertex, named for either.
	rePlatform = regexp.MustCompile(`^\[linux/[a-z0-9]+(/v[0-9])? `)
	// The daemon's temporary mount of a client's directory.
	reMount = regexp.MustCompile(`buildkit-mount\d+`)
	// A local cache is named by a hash of its path.
	reLocalCache = regexp.MustCompile(`\blocal:\d+\b`)
	reTime       = regexp.MustCompile(`\b\d+(\.\d+)?s\b`)
	reSize       = regexp.MustCompile(`\b\d+(\.\d+)? ?([kMGT]i?)?B\b`)
	reVertex     = regexp.MustCompile(`^#(\d+) (.*)$`)
	// A log line's time is negative when the daemon stamped it before the
	// start the display knows for its vertex (a cached vertex two solves
	// share), for buildx and mybuild alike.
	reLog     = regexp.MustCompile(`^-?\d+\.\d+ ?(.*)$`)
	reLogTime = regexp.MustCompile(`^(\s*)-?\d+\.\d+ `)
	// reGoLog is a line of Go's standard logger: buildx's session prints
	// one when a connection ends as a build fails ("2026/12/07 11:56:37
	// http2: server: error reading preface …"), or not, by its timing.
	reGoLog = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d http2: `)
	// A status still running or done: "transferring context: 2.10kB 0.1s done".
	reTransfer = regexp.MustCompile(`^(transferring [^:]+:).*$`)
	// A size shown once known, and a transfer's progress.
	reTrailingSize = regexp.MustCompile(`( SIZE( / SIZE)?)+$`)
)

// solveRace is the two words BuildKit's client has for one failed solve:
// the gateway's and the Solve call's error race to be reported first
// (client.Build), for buildx and mybuild alike.
var solveRace = strings.NewReplacer(
	"failed to run Build function: ", "failed to solve: ",
	"failed to solve: rpc error: code = Unknown desc = ", "failed to solve: ")

// summary is a text line after the vertices as compared.
func summary(line string) string {
	if strings.HasPrefix(line, "ERROR: ") {
		line = solveRace.Replace(line)
	}
	return line
}

// Mask replaces what differs from run to run: digests, IDs, build refs,
// sizes and times.
func Mask(s string) string {
	s = ReDigest.ReplaceAllString(s, "sha256:D")
	s = reHex.ReplaceAllString(s, "HEX")
	s = reRef.ReplaceAllString(s, "REF")
	s = reLocalCache.ReplaceAllString(s, "local:N")
	s = reMount.ReplaceAllString(s, "buildkit-mountN")
	s = reSize.ReplaceAllString(s, "SIZE")
	return reTime.ReplaceAllString(s, "T")
}

func vertexName(s string) string {
	return rePlatform.ReplaceAllString(Mask(s), "[PLATFORM ")
}

// Vertex is one step of the progress as compared: how it ended (DONE,
// CACHED, CANCELED or its ERROR line), what it logged, and the statuses it
// showed, each once. Steps of the same name (two exporters) are one: which
// of them shows a status they share is a race.
type Vertex struct {
	Name     string
	Count    int
	End      string
	Logs     []string
	Statuses []string
}

// Progress is a build's progress read as vertices, sorted by name (their
// numbers and their interleaving follow the daemon's timing), and the text
// before the first and after the last: the builder line, warnings, the
// error context and the ERROR: summary, exactly but masked.
type Progress struct {
	Before   []string
	Vertices []Vertex
	After    []string
}

// ParsePlain reads --progress=plain output.
func ParsePlain(stderr string) Progress {
	var p Progress
	byNum := map[string]*Vertex{}
	var order []string
	started := false
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		m := reVertex.FindStringSubmatch(line)
		if m == nil || m[1] == "0" {
			if strings.TrimSpace(line) == "" || reGoLog.MatchString(line) {
				continue
			}
			// The error context quotes the step's logs with their times.
			line = reLogTime.ReplaceAllString(Mask(line), "${1}T ")
			if started {
				p.After = append(p.After, summary(line))
			} else {
				p.Before = append(p.Before, line)
			}
			continue
		}
		started = true
		num, rest := m[1], m[2]
		v, ok := byNum[num]
		if !ok {
			byNum[num] = &Vertex{Name: vertexName(rest)}
			order = append(order, num)
			continue
		}
		switch {
		case rest == "..." || vertexName(rest) == v.Name: // resumed after another vertex
		case rest == "CACHED" || rest == "CANCELED" || strings.HasPrefix(rest, "DONE"):
			v.End = strings.Fields(rest)[0]
		case strings.HasPrefix(rest, "ERROR"):
			v.End = Mask(rest)
		case reLog.MatchString(rest):
			v.Logs = append(v.Logs, Mask(reLog.FindStringSubmatch(rest)[1]))
		default:
			v.addStatus(rest)
		}
	}
	vs := make([]*Vertex, 0, len(order))
	for _, n := range order {
		vs = append(vs, byNum[n])
	}
	p.Vertices = merged(vs)
	return p
}

// addStatus adds a status line once, without its time and "done": the
// same status is printed while it runs and when it is done.
func (v *Vertex) addStatus(s string) {
	s = strings.TrimSuffix(Mask(s), " done")
	s = strings.TrimSuffix(s, " T")
	s = reTransfer.ReplaceAllString(s, "$1")
	s = reTrailingSize.ReplaceAllString(s, "")
	if !slices.Contains(v.Statuses, s) {
		v.Statuses = append(v.Statuses, s)
	}
}

// merged is vs by name, those of one name merged: their ends, logs and
// statuses as sorted sets.
func merged(vs []*Vertex) []Vertex {
	byName := map[string]*Vertex{}
	var names []string
	for _, v := range vs {
		m, ok := byName[v.Name]
		if !ok {
			m = &Vertex{Name: v.Name}
			byName[v.Name] = m
			names = append(names, v.Name)
		}
		m.Count++
		if m.End == "" {
			m.End = v.End
		} else if v.End != "" && !slices.Contains(strings.Split(m.End, " | "), v.End) {
			ends := append(strings.Split(m.End, " | "), v.End)
			slices.Sort(ends)
			m.End = strings.Join(ends, " | ")
		}
		m.Logs = append(m.Logs, v.Logs...)
		for _, s := range v.Statuses {
			if !slices.Contains(m.Statuses, s) {
				m.Statuses = append(m.Statuses, s)
			}
		}
	}
	slices.Sort(names)
	out := make([]Vertex, 0, len(names))
	for _, n := range names {
		m := byName[n]
		slices.Sort(m.Statuses)
		if m.Count > 1 {
			slices.Sort(m.Logs)
		}
		out = append(out, *m)
	}
	return out
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

// ParseRawJSON reads --progress=rawjson output into the same vertices as
// the plain output: names, ends, logs (joined per vertex, then by line) and
// status IDs; lines that are not JSON (the error summary) are kept as text.
func ParseRawJSON(stderr string) Progress {
	var p Progress
	byDigest := map[string]*Vertex{}
	logs := map[string]*strings.Builder{}
	var order []string
	get := func(d string) *Vertex {
		if v, ok := byDigest[d]; ok {
			return v
		}
		v := &Vertex{}
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
				p.After = append(p.After, summary(Mask(line)))
			}
			continue
		}
		for _, rv := range st.Vertexes {
			v := get(rv.Digest)
			v.Name = vertexName(rv.Name)
			switch {
			case rv.Error != "" && strings.Contains(rv.Error, "context canceled"):
				v.End = "CANCELED"
			case rv.Error != "":
				v.End = "ERROR: " + Mask(rv.Error)
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
	vs := make([]*Vertex, 0, len(order))
	for _, d := range order {
		v := byDigest[d]
		if text := strings.TrimRight(logs[d].String(), "\n"); text != "" {
			for _, l := range strings.Split(text, "\n") {
				v.Logs = append(v.Logs, Mask(l))
			}
		}
		vs = append(vs, v)
	}
	p.Vertices = merged(vs)
	return p
}

// Settle makes two progresses' unfinished steps alike: a daemon's last
// update of a step can come after the display ended (Engine 20.10 does it
// for the Dockerfile's or the stdin context's load), so a step without an
// end takes the other's.
func Settle(a, b *Progress) {
	ends := func(p *Progress) map[string]*Vertex {
		m := map[string]*Vertex{}
		for i := range p.Vertices {
			m[p.Vertices[i].Name] = &p.Vertices[i]
		}
		return m
	}
	ma, mb := ends(a), ends(b)
	for n, va := range ma {
		vb, ok := mb[n]
		switch {
		case !ok:
		case va.End == "":
			va.End = vb.End
		case vb.End == "":
			vb.End = va.End
		}
	}
}
