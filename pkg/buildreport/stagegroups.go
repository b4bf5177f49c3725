package buildreport

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"time"
)

// StageGroups folds a build's plain log on CI, one group per build stage:
// it passes every byte through and opens a group where the log turns to
// another stage. The classic builder's log is sequential ("Step 2/5 :
// FROM base AS app" starts a stage); BuildKit's interleaves the vertices
// of parallel stages, so a stage may be folded in more than one group.
// Lines of no stage (BuildKit's "[internal]" loads, its exports) fold
// under "build".
type StageGroups struct {
	w   io.Writer
	ci  CI
	now func() time.Time

	line    []byte
	open    string         // the group open, "" for none
	froms   int            // classic: FROM steps seen
	vertex  map[int]string // BuildKit: a vertex's stage, by its number
	passing bool           // a line too long to hold is being passed on
	midLine bool           // what was passed on last ended without a newline
}

// maxHeld bounds a line held to find its stage; a longer one passes
// through in the group already open.
const maxHeld = 64 << 10

// NewStageGroups folds what is written to it onto w; with no CI it
// only passes it on.
func NewStageGroups(w io.Writer, ci CI) *StageGroups {
	return &StageGroups{w: w, ci: ci, now: time.Now, vertex: map[int]string{}}
}

func (g *StageGroups) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if g.passing || len(g.line)+len(p) > maxHeld {
				if err := g.flushLine(); err != nil {
					return 0, err
				}
				g.passing, g.midLine = true, true
				if _, err := g.w.Write(p); err != nil {
					return 0, err
				}
				return n, nil
			}
			g.line = append(g.line, p...)
			return n, nil
		}
		if g.passing {
			g.passing, g.midLine = false, false
			if _, err := g.w.Write(p[:i+1]); err != nil {
				return 0, err
			}
		} else {
			g.line = append(g.line, p[:i+1]...)
			if err := g.flushLine(); err != nil {
				return 0, err
			}
		}
		p = p[i+1:]
	}
	return n, nil
}

// flushLine writes the line held, after opening its stage's group.
func (g *StageGroups) flushLine() error {
	if len(g.line) == 0 {
		return nil
	}
	if stage, ok := g.stageOf(g.line); ok && stage != g.open && g.ci.Kind != NoCI {
		var b bytes.Buffer
		if g.open != "" {
			b.WriteString(g.ci.GroupEnd(g.open, g.now()))
		}
		b.WriteString(g.ci.GroupStart(stage, g.now()))
		if _, err := g.w.Write(b.Bytes()); err != nil {
			return err
		}
		g.open = stage
	}
	_, err := g.w.Write(g.line)
	g.midLine = g.line[len(g.line)-1] != '\n'
	g.line = g.line[:0]
	return err
}

var (
	classicFrom = regexp.MustCompile(`^Step [0-9]+/[0-9]+ : (?i:FROM)\s+\S+(?:\s+(?i:AS)\s+(\S+))?`)
	vertexLine  = regexp.MustCompile(`^#([0-9]+) `)
	vertexStep  = regexp.MustCompile(`^\[(?:(\S+(?: \S+)?) )?([0-9]+)/[0-9]+\] (.*)$`)
)

// VertexStep reads a Dockerfile step's vertex name as BuildKit gives it:
// "[stage-1 2/3] COPY . /app", "[build 1/2] FROM …", "[2/3] RUN make" (a
// build of one stage: label ""); in a multi-platform build the label
// starts with the platform ("linux/arm64 build"). ok is false for other
// vertexes ("[internal] load build context", "exporting to image").
func VertexStep(name string) (label string, index int, text string, ok bool) {
	m := vertexStep.FindStringSubmatch(name)
	if m == nil {
		return "", 0, "", false
	}
	index, _ = strconv.Atoi(m[2])
	return m[1], index, m[3], true
}

// stageOf is the stage a line belongs to; ok is false for a line that
// stays in the group open (a classic step after its FROM, a warning).
func (g *StageGroups) stageOf(line []byte) (string, bool) {
	if m := classicFrom.FindSubmatch(line); m != nil {
		g.froms++
		if len(m[1]) > 0 {
			return "stage " + string(m[1]), true
		}
		return "stage " + strconv.Itoa(g.froms-1), true
	}
	m := vertexLine.FindSubmatch(line)
	if m == nil {
		return "", false
	}
	n, _ := strconv.Atoi(string(m[1]))
	if s, ok := g.vertex[n]; ok {
		return s, true
	}
	stage := "build"
	if label, _, _, ok := VertexStep(string(bytes.TrimRight(line[len(m[0]):], "\r\n"))); ok {
		stage = "stage " + label
		if label == "" {
			stage = "stage 0" // a build of one stage, unnamed
		}
	}
	g.vertex[n] = stage
	return stage, true
}

// Close writes a line left without its newline and closes the group
// open. It does not close w.
func (g *StageGroups) Close() error {
	if err := g.flushLine(); err != nil {
		return err
	}
	if g.open == "" {
		return nil
	}
	end := g.ci.GroupEnd(g.open, g.now())
	if g.midLine {
		end = "\n" + end // the marker must start a line
	}
	g.open = ""
	_, err := io.WriteString(g.w, end)
	return err
}
