package jsonstream

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	units "github.com/docker/go-units"
	"github.com/morikuni/aec"
)

const (
	// uploadRedraw is the shortest time between two redraws.
	uploadRedraw = 100 * time.Millisecond
	// uploadWindow is how far back the live rate looks.
	uploadWindow = time.Second
)

// UploadMeter shows the progress of the build context upload on a
// terminal: one line, redrawn in place at most every 100 ms, such as
//
//	Sending build context to Docker daemon  12.8MB (34.2MB/s)
//
// where the rate covers the last second; once the total is known
// (SetTotal), with it, the share done and the time left at that rate:
//
//	Sending build context to Docker daemon  12.8MB/149.1MB   8% 34.2MB/s 4s left
//
// When the upload ends the line is
// drawn once more with docker's text followed, for uploads that took a
// second or more, by the duration and the average rate:
//
//	Sending build context to Docker daemon  149.1MB in 4.4s (33.9MB/s)
//
// and ended with "\r\n". Pipes keep docker's FinalLine.
//
// A redrawn line fits in the terminal's width less one column: one that
// wrapped would leave a row behind at every redraw. Where the whole line
// does not fit the numbers are shown without the action, cut if need be;
// the final line is not redrawn and is written whole.
type UploadMeter struct {
	w      io.Writer
	action string
	width  int
	now    func() time.Time

	mu       sync.Mutex
	n        int64
	total    int64 // 0: unknown
	started  bool
	start    time.Time
	lastDraw time.Time
	samples  []uploadSample // draws within the rate window, oldest first
	done     bool
}

type uploadSample struct {
	t time.Time
	n int64
}

// NewUploadMeter returns a meter that writes its line to w, a terminal
// width columns wide (0: unknown, nothing is cut), starting with action
// (docker's is "Sending build context to Docker daemon"); now is its
// clock.
func NewUploadMeter(w io.Writer, action string, width int, now func() time.Time) *UploadMeter {
	if now == nil {
		now = time.Now
	}
	return &UploadMeter{w: w, action: action, width: width, now: now}
}

// Wrap returns a reader that counts what is read from r into the meter.
// The clock starts at the first Read. At EOF, or at any other error, the
// final line is drawn.
func (m *UploadMeter) Wrap(r io.Reader) io.Reader {
	return &ProgressReader{R: r, Report: m.report}
}

func (m *UploadMeter) report(total int64, _ int, err error) {
	m.begin()
	m.add(total)
	if err != nil {
		m.Finish()
	}
}

// Finish draws the final line and ends it, unless that was done already;
// call it (deferred) when the upload may stop before its reader's EOF, so
// that what is printed next starts on a line of its own.
func (m *UploadMeter) Finish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return
	}
	m.done = true
	line := m.action + " " + HumanSize(m.n)
	if m.started {
		if elapsed := m.now().Sub(m.start); elapsed >= uploadWindow {
			line += fmt.Sprintf(" in %s (%s)", elapsed.Round(100*time.Millisecond), rate(m.n, elapsed))
		}
	}
	m.draw(line + "\r\n")
}

func (m *UploadMeter) begin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		m.started = true
		m.start = m.now()
		m.lastDraw = m.start
		m.samples = []uploadSample{{t: m.start}}
	}
}

func (m *UploadMeter) add(total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n = total
	if m.done {
		return
	}
	now := m.now()
	if now.Sub(m.lastDraw) < uploadRedraw {
		return
	}
	m.lastDraw = now
	// Keep the newest sample that is at least a window old, and the ones
	// after it: the rate is measured from there.
	for len(m.samples) > 1 && now.Sub(m.samples[1].t) >= uploadWindow {
		m.samples = m.samples[1:]
	}
	from := m.samples[0]
	m.samples = append(m.samples, uploadSample{t: now, n: m.n})
	m.draw(m.liveLine(m.details(m.n-from.n, now.Sub(from.t))))
}

// SetTotal gives the meter the size of the whole upload, which a walk of
// the context running beside it has found; 0 leaves it unknown.
func (m *UploadMeter) SetTotal(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total = n
}

// details is what the live line says after the action, for the recent n
// bytes in d.
func (m *UploadMeter) details(n int64, d time.Duration) string {
	if m.total <= 0 || m.n > m.total {
		return HumanSize(m.n) + " (" + rate(n, d) + ")"
	}
	// Without the rate's parentheses the line fits in 80 columns.
	s := fmt.Sprintf("%s/%s %3d%% %s", HumanSize(m.n), units.HumanSize(float64(m.total)), m.n*100/m.total, rate(n, d))
	if n > 0 && d > 0 {
		left := time.Duration(float64(m.total-m.n) / float64(n) * float64(d))
		s += " " + left.Round(time.Second).String() + " left"
	}
	return s
}

// liveLine is a redrawn line: the action and details when they fit in the
// width, else the details alone, cut to fit.
func (m *UploadMeter) liveLine(details string) string {
	line := m.action + " " + details
	if m.width <= 0 || utf8.RuneCountInString(line) < m.width {
		return line
	}
	return cut(strings.TrimLeft(details, " "), m.width-1)
}

// cut shortens s to at most n runes.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:max(n, 0)])
	}
	return s
}

// draw replaces the current line with line.
func (m *UploadMeter) draw(line string) {
	_, _ = io.WriteString(m.w, "\r"+aec.EraseLine(aec.EraseModes.All).String()+line)
}

var rateUnits = []string{"B/s", "kB/s", "MB/s", "GB/s", "TB/s"}

// rate formats n bytes over d as "34.2MB/s": decimal units like
// HumanSize, three significant digits.
func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "0B/s"
	}
	v := float64(n) / d.Seconds()
	i := 0
	for v >= 999.5 && i < len(rateUnits)-1 {
		v /= 1000
		i++
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + rateUnits[i]
}
