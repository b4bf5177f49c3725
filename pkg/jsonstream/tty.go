package jsonstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	units "github.com/docker/go-units"
	"github.com/morikuni/aec"
)

// TTYOptions tune DisplayTTY. The caller decides once, at the edge, whether
// the output is a terminal, how wide it is and whether colour is wanted.
type TTYOptions struct {
	Options
	// Width is the terminal width in columns. Lines of the progress block
	// fit in Width-1 columns so they never wrap and break the cursor
	// arithmetic: a progress bar has docker's 50 cells where they fit and
	// shrinks to what the line leaves (docker drops it below 111 columns),
	// down to minBarCells; what is still too long is cut. 0 means unknown:
	// docker's 200 columns, nothing cut.
	Width int
	// Color allows SGR colour codes of the renderer's own (false for
	// NO_COLOR). Escape codes inside the daemon's stream text are written
	// untouched unless Options.NoColor, and cursor movement is used either
	// way.
	Color bool
	// Now is the clock for the "time left" estimate and the step times;
	// nil means time.Now.
	Now func() time.Time
	// Start is when the build began (before the upload), for the whole
	// build's time printed at the end; zero means when DisplayTTY starts.
	Start time.Time
}

// defaultWidth is what docker assumes when the terminal size is unknown.
const defaultWidth = 200

// DisplayTTY renders the stream r onto the terminal w the way docker's
// jsonmessage renders it in terminal mode: every id with progress gets a
// line of its own that later updates rewrite in place (the cursor moves up
// to it and back), so a pull shows each layer once with a live progress
// bar and ends with each layer's final status. Stream text is written
// verbatim, other status lines as "id: status". When the daemon's stream
// ends, with success or a build failure, each step's duration and the whole
// build's time follow (docker prints neither). Aux payloads go to o.OnAux;
// failures are returned exactly as Display returns them.
func DisplayTTY(ctx context.Context, r io.Reader, w io.Writer, o TTYOptions) error {
	t := newTTYRenderer(w, o)
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	for {
		if err := ctx.Err(); err != nil {
			t.endLine()
			return context.Cause(ctx)
		}
		var m Message
		if err := dec.Decode(&m); err != nil {
			t.endLine()
			if err == io.EOF {
				t.summary(false)
				return t.err
			}
			return err
		}
		if m.Aux != nil {
			if o.OnAux != nil {
				o.OnAux(*m.Aux)
			}
			continue
		}
		o.stream(&m)
		if err := messageError(&m, o.Strict); err != nil {
			t.endLine()
			t.summary(true)
			return err
		}
		t.message(&m)
		if t.err != nil {
			return t.err
		}
	}
}

// messageError is Display's failure rule: errorDetail ends the build with
// its message and code (code 0 becomes 1, as docker build does; 401 is not
// special: docker 28 prints the daemon's message and uses 401 as the code
// too); a bare "error" only counts in strict mode.
func messageError(m *Message, strict bool) error {
	if m.Error != nil {
		code := m.Error.Code
		if code == 0 {
			code = 1
		}
		return &StreamError{Code: code, Message: m.Error.Message}
	}
	if strict && m.ErrorMessage != "" {
		return &StreamError{Code: 1, Message: m.ErrorMessage}
	}
	return nil
}

// ttyRenderer keeps the terminal state between messages. While a progress
// block is open the cursor sits at column 0 of the line below it.
type ttyRenderer struct {
	w     io.Writer
	o     TTYOptions
	now   func() time.Time
	width int // for the bar and time-left decisions
	limit int // visible columns of a block line; 0 = no limit

	block   map[string]int // id -> line index in the open block
	midLine bool           // the last text left the cursor after something on its line
	steps   stepTimes
	buf     bytes.Buffer
	err     error // first write error
}

func newTTYRenderer(w io.Writer, o TTYOptions) *ttyRenderer {
	t := &ttyRenderer{w: w, o: o, now: o.Now, width: o.Width, block: map[string]int{}}
	if t.now == nil {
		t.now = time.Now
	}
	t.steps.start = o.Start
	if t.steps.start.IsZero() {
		t.steps.start = t.now()
	}
	if t.width <= 0 {
		t.width = defaultWidth
	} else {
		t.limit = max(o.Width-1, 1)
	}
	return t
}

func (t *ttyRenderer) flush() {
	if t.buf.Len() == 0 || t.err != nil {
		t.buf.Reset()
		return
	}
	_, t.err = t.w.Write(t.buf.Bytes())
	t.buf.Reset()
}

// endLine finishes a line left open by stream text, so that whatever comes
// next (a progress block, an error message, the shell prompt) starts on a
// line of its own and overwrites nothing.
func (t *ttyRenderer) endLine() {
	if t.midLine {
		t.buf.WriteByte('\n')
		t.midLine = false
	}
	t.flush()
}

// summary writes the step times at the end of the build.
func (t *ttyRenderer) summary(failed bool) {
	t.buf.WriteString(t.steps.summary(t.now(), failed, t.limit))
	t.flush()
}

func (t *ttyRenderer) message(m *Message) {
	defer t.flush()
	if m.Progress != nil && m.Stream == "" {
		t.progressLine(m)
		return
	}
	// Anything that is not progress closes the block, as in docker: later
	// progress starts a new block below this output.
	clear(t.block)
	if m.Stream != "" {
		text := streamText(m, t.o.Options)
		if !t.midLine {
			t.steps.see(text, t.now())
		}
		t.buf.WriteString(text)
		if ends, ok := endsWithNewline(text); ok {
			t.midLine = !ends
		}
		return
	}
	if t.midLine {
		t.buf.WriteByte('\n')
		t.midLine = false
	}
	var b strings.Builder
	writePrefix(&b, m)
	b.WriteString(m.Status)
	if m.ProgressMessage != "" {
		b.WriteString(" " + m.ProgressMessage)
	}
	t.buf.WriteString(b.String())
	t.buf.WriteByte('\n')
}

// progressLine draws or redraws the block line of m.ID (the empty id too:
// docker's remote-context download reports progress without one).
func (t *ttyRenderer) progressLine(m *Message) {
	if t.midLine {
		t.buf.WriteByte('\n')
		t.midLine = false
	}
	line := t.renderProgressLine(m)
	idx, ok := t.block[m.ID]
	if !ok {
		t.block[m.ID] = len(t.block)
		t.buf.WriteString(eraseLine)
		t.buf.WriteString(line)
		t.buf.WriteByte('\n')
		return
	}
	up := uint(len(t.block) - idx)
	t.buf.WriteString(aec.Up(up).String())
	t.buf.WriteString(eraseLine)
	t.buf.WriteString(line)
	t.buf.WriteByte('\r')
	t.buf.WriteString(aec.Down(up).String())
}

var eraseLine = "\r" + aec.EraseLine(aec.EraseModes.All).String()

// segment is a piece of a block line with an optional colour.
type segment struct {
	text  string
	color aec.ANSI
}

// minBarCells is the narrowest bar drawn: at about 60 columns a pulled
// layer's line has room for it beside the counts and the time left.
const minBarCells = 8

func (t *ttyRenderer) renderProgressLine(m *Message) string {
	var pre strings.Builder
	writePrefix(&pre, m)
	segs := []segment{{text: pre.String()}, {text: m.Status, color: statusColor(m.Status)}}
	rest := progressRest(m.Progress, t.width > 50, t.now)
	cells := 0
	if t.width > 110 {
		cells = 50
	}
	if t.limit > 0 {
		// Room is kept for a time left of up to 3 characters whether it
		// shows or not, so that the bar does not jump as it comes and goes.
		room := len(rest)
		if m.Progress != nil && m.Progress.Start > 0 && t.width > 50 {
			room = max(room, len(progressRest(m.Progress, false, nil))+4)
		}
		// " [", "=>…", "] ": the bar takes its cells and five columns.
		if cells = min(50, t.limit-visibleLen(segs)-room-5); cells < minBarCells {
			cells = 0
		}
	}
	bar := progressBar(m.Progress, cells)
	if t.limit > 0 && bar == "" && visibleLen(segs)+1+len(rest) > t.limit {
		// Too long even without a bar: no alignment padding.
		rest = strings.TrimLeft(rest, " ")
	}
	if bar != "" || rest != "" {
		segs = append(segs, segment{text: " "})
	}
	if bar != "" {
		segs = append(segs, segment{text: bar, color: aec.CyanF}, segment{text: " "})
	}
	segs = append(segs, segment{text: rest})
	var b strings.Builder
	budget := t.limit
	for _, s := range segs {
		text := s.text
		if t.limit > 0 {
			if budget <= 0 {
				break
			}
			if r := []rune(text); len(r) > budget {
				text = string(r[:budget])
			}
			budget -= utf8.RuneCountInString(text)
		}
		if text == "" {
			continue
		}
		if t.o.Color && s.color != nil {
			text = s.color.Apply(text)
		}
		b.WriteString(text)
	}
	return b.String()
}

func visibleLen(segs []segment) int {
	n := 0
	for _, s := range segs {
		n += utf8.RuneCountInString(s.text)
	}
	return n
}

// statusColor marks the statuses that mean a layer is done.
func statusColor(status string) aec.ANSI {
	switch status {
	case "Pull complete", "Already exists", "Download complete":
		return aec.GreenF
	}
	return nil
}

// writePrefix writes docker's "[time ][id: ][(from X) ]" prefix.
func writePrefix(b *strings.Builder, m *Message) {
	if m.TimeNano != 0 {
		fmt.Fprintf(b, "%s ", time.Unix(0, m.TimeNano).Format(rfc3339NanoFixed))
	} else if m.Time != 0 {
		fmt.Fprintf(b, "%s ", time.Unix(m.Time, 0).Format(rfc3339NanoFixed))
	}
	if m.ID != "" {
		fmt.Fprintf(b, "%s: ", m.ID)
	}
	if m.From != "" {
		fmt.Fprintf(b, "(from %s) ", m.From)
	}
}

// FormatProgress is docker's JSONProgress.String for a terminal of the
// given width (0: unknown, docker's 200 columns, which is also what docker
// uses off a terminal): the bar "[===>   ] " above 110 columns, the
// numbers "%8v/%v", and the time left " 12s" above 50 columns when the
// daemon gave a start time. The time left is extrapolated in floating
// point rather than docker's integer nanoseconds per byte, which rounds to
// 0 for fast downloads.
func FormatProgress(p *Progress, width int, now func() time.Time) string {
	if width <= 0 {
		width = defaultWidth
	}
	bar, rest := dockerProgress(p, width, now)
	if bar != "" {
		bar += " "
	}
	return bar + rest
}

// dockerProgress is FormatProgress in two parts: the bar, without its
// trailing space, and the rest.
func dockerProgress(p *Progress, width int, now func() time.Time) (bar, rest string) {
	cells := 0
	if width > 110 {
		cells = 50
	}
	return progressBar(p, cells), progressRest(p, width > 50, now)
}

// percent is how much of p is done, 0 to 100, as docker rounds it; ok is
// false without a total.
func percent(p *Progress) (pct int, ok bool) {
	if p == nil || p.Empty() || p.Total <= 0 {
		return 0, false
	}
	// Clamped before the conversion: a negative or huge current (which
	// no real daemon sends) must not make a negative bar length.
	return int(min(max(float64(p.Current)/float64(p.Total), 0), 1) * 100), true
}

// progressBar is docker's bar "[===>   ]" with the given number of cells
// (docker's 50), or "" when cells is 0 or p has no total.
func progressBar(p *Progress, cells int) string {
	pct, ok := percent(p)
	if !ok || cells <= 0 {
		return ""
	}
	done := pct * cells / 100
	return "[" + strings.Repeat("=", done) + ">" + strings.Repeat(" ", cells-done) + "]"
}

// progressRest is the rest of docker's rendering: the counts and, when
// timeLeft is set and the daemon gave a start time, the time left.
func progressRest(p *Progress, timeLeft bool, now func() time.Time) (rest string) {
	if p == nil || p.Empty() {
		return ""
	}
	if p.Total <= 0 {
		if p.Units == "" {
			return HumanSize(p.Current)
		}
		return fmt.Sprintf("%d %s", p.Current, p.Units)
	}
	pct, _ := percent(p)
	switch {
	case p.HideCounts:
	case p.Units == "":
		current := units.HumanSize(float64(p.Current))
		if p.Current > p.Total {
			rest = fmt.Sprintf("%8v", current)
		} else {
			rest = fmt.Sprintf("%8v/%v", current, units.HumanSize(float64(p.Total)))
		}
	default:
		if p.Current > p.Total {
			rest = fmt.Sprintf("%d %s", p.Current, p.Units)
		} else {
			rest = fmt.Sprintf("%d/%d %s", p.Current, p.Total, p.Units)
		}
	}
	if timeLeft && now != nil && p.Current > 0 && p.Start > 0 && pct < 100 {
		elapsed := now().Sub(time.Unix(p.Start, 0))
		if elapsed > 0 {
			left := time.Duration(float64(elapsed) * float64(p.Total-p.Current) / float64(p.Current))
			rest += " " + left.Round(time.Second).String()
		}
	}
	return rest
}

// endsWithNewline reports whether s, ignoring escape sequences at its end
// (the daemon closes RUN stderr with "\x1b[0m" after the newline), ends
// with a newline. ok is false when s holds nothing but escape sequences,
// which leave the cursor where it was.
func endsWithNewline(s string) (ends, ok bool) {
	s = trimTrailingCSI(s)
	if s == "" {
		return false, false
	}
	return s[len(s)-1] == '\n', true
}

// trimTrailingCSI removes complete CSI sequences (ESC [ params final) from
// the end of s.
func trimTrailingCSI(s string) string {
	for {
		n := len(s)
		if n < 3 || s[n-1] < 0x40 || s[n-1] > 0x7e {
			return s
		}
		i := n - 2
		for i >= 0 && s[i] >= 0x20 && s[i] <= 0x3f {
			i--
		}
		if i < 1 || s[i] != '[' || s[i-1] != 0x1b {
			return s
		}
		s = s[:i-1]
	}
}
