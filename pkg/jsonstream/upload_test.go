package jsonstream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/golden"
)

const sending = "Sending build context to Docker daemon"

// fakeClock only moves when a test (or a fake reader) moves it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pacedReader returns one chunk of the given sizes per Read, each taking
// its step on the fake clock, then EOF (or err).
type pacedReader struct {
	clock  *fakeClock
	chunks []chunk
	err    error
}

type chunk struct {
	n    int
	step time.Duration
}

func (r *pacedReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	c := r.chunks[0]
	if c.n > len(p) {
		panic("pacedReader: buffer smaller than a chunk")
	}
	r.clock.Advance(c.step)
	r.chunks = r.chunks[1:]
	n := c.n
	clear(p[:n])
	return n, nil
}

func repeat(times, n int, step time.Duration) []chunk {
	out := make([]chunk, times)
	for i := range out {
		out[i] = chunk{n, step}
	}
	return out
}

// upload runs chunks through a meter and returns what it wrote.
func upload(t *testing.T, chunks []chunk, readErr error) (string, *UploadMeter) {
	t.Helper()
	return uploadWidth(t, chunks, readErr, 0)
}

// uploadWidth is upload on a terminal width columns wide.
func uploadWidth(t *testing.T, chunks []chunk, readErr error, width int) (string, *UploadMeter) {
	t.Helper()
	clock := &fakeClock{t: frozen}
	var out bytes.Buffer
	m := NewUploadMeter(&out, sending, width, clock.Now)
	r := m.Wrap(&pacedReader{clock: clock, chunks: chunks, err: readErr})
	buf := make([]byte, 8<<20)
	for {
		_, err := r.Read(buf)
		if err == io.EOF && readErr == nil || err != nil && errors.Is(err, readErr) {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	return out.String(), m
}

// draws splits the meter's output into the lines it drew.
func draws(out string) []string {
	return strings.Split(strings.TrimPrefix(out, "\r\x1b[2K"), "\r\x1b[2K")
}

func TestUploadMeterSmallContext(t *testing.T) {
	t.Parallel()
	out, _ := upload(t, []chunk{{3072, time.Millisecond}}, nil)
	if want := "\r\x1b[2K" + sending + "  3.072kB\r\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestUploadMeterSteady(t *testing.T) {
	t.Parallel()
	// 60 MB at 1 MB per 50 ms: a redraw every 100 ms, 20MB/s throughout.
	out, _ := upload(t, repeat(60, 1_000_000, 50*time.Millisecond), nil)
	got := draws(out)
	if len(got) != 31 {
		t.Fatalf("%d draws, want 30 redraws and the final line:\n%q", len(got), got)
	}
	for i, line := range got[:30] {
		want := sending + " " + HumanSize(int64(i+1)*2_000_000) + " (20MB/s)"
		if line != want {
			t.Errorf("draw %d = %q, want %q", i, line, want)
		}
	}
	if want := sending + "     60MB in 3s (20MB/s)\r\n"; got[30] != want {
		t.Errorf("final = %q, want %q", got[30], want)
	}
	s := newScreen(t, 80)
	s.Write([]byte(out))
	if diff := cmp.Diff([]string{sending + "     60MB in 3s (20MB/s)"}, s.Lines()); diff != "" {
		t.Errorf("screen (-want +got):\n%s", diff)
	}
}

// TestUploadMeterTotal: once the total is known the live line shows it,
// the share done and the time left at the live rate; a total that the
// upload outgrows is not shown any more; the final line is docker's.
func TestUploadMeterTotal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		total int64
		after int // draws before SetTotal
		want  map[int]string
	}{
		{"known from the start", 60_000_000, 0, map[int]string{
			0:  sending + "      2MB/60MB   3% 20MB/s 3s left",
			14: sending + "     30MB/60MB  50% 20MB/s 2s left",
			28: sending + "     58MB/60MB  96% 20MB/s 0s left",
			29: sending + "     60MB/60MB 100% 20MB/s 0s left",
			30: sending + "     60MB in 3s (20MB/s)\r\n",
		}},
		{"known after 5 draws", 60_000_000, 5, map[int]string{
			4: sending + "     10MB (20MB/s)",
			5: sending + "     12MB/60MB  20% 20MB/s 2s left",
		}},
		{"outgrown", 40_000_000, 0, map[int]string{
			19: sending + "     40MB/40MB 100% 20MB/s 0s left",
			20: sending + "     42MB (20MB/s)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{t: frozen}
			var out bytes.Buffer
			m := NewUploadMeter(&out, sending, 0, clock.Now)
			r := m.Wrap(&pacedReader{clock: clock, chunks: repeat(60, 1_000_000, 50*time.Millisecond)})
			if tc.after == 0 {
				m.SetTotal(tc.total)
			}
			buf := make([]byte, 1<<20)
			for {
				if tc.after > 0 && strings.Count(out.String(), "\r\x1b[2K") == tc.after {
					m.SetTotal(tc.total)
				}
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
			got := draws(out.String())
			for i, want := range tc.want {
				if got[i] != want {
					t.Errorf("draw %d = %q, want %q", i, got[i], want)
				}
			}
		})
	}
}

// TestUploadMeterNarrow: in a terminal too narrow for the line, each
// redraw shows the numbers in width-1 columns and replaces the last one;
// what stays on the screen is the final line, wrapped.
func TestUploadMeterNarrow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		width     int
		wantDraw0 string
	}{
		{80, sending + "      2MB (20MB/s)"},
		{40, "2MB (20MB/s)"},
		{10, "2MB (20MB"},
	} {
		out, _ := uploadWidth(t, repeat(60, 1_000_000, 50*time.Millisecond), nil, tc.width)
		got := draws(out)
		if got[0] != tc.wantDraw0 {
			t.Errorf("width %d: first draw %q, want %q", tc.width, got[0], tc.wantDraw0)
		}
		for i, d := range got[:len(got)-1] {
			if n := utf8.RuneCountInString(d); n > tc.width-1 {
				t.Errorf("width %d: draw %d has %d columns: %q", tc.width, i, n, d)
			}
		}
		s := newScreen(t, tc.width)
		s.Write([]byte(out))
		final := sending + "     60MB in 3s (20MB/s)"
		if diff := cmp.Diff([]string{final}, s.Lines()); diff != "" {
			t.Errorf("width %d: screen (-want +got):\n%s", tc.width, diff)
		}
		if rows, want := len(s.lines)-1, (len(final)+tc.width-1)/tc.width; rows != want {
			t.Errorf("width %d: %d rows written, want the final line's %d", tc.width, rows, want)
		}
	}
}

// TestUploadMeterRateWindow: the live rate follows the last second, the
// final line gives the average.
func TestUploadMeterRateWindow(t *testing.T) {
	t.Parallel()
	chunks := append(repeat(20, 100_000, 100*time.Millisecond), repeat(10, 1_000_000, 100*time.Millisecond)...)
	out, _ := upload(t, chunks, nil)
	got := draws(out)
	for _, tc := range []struct {
		i    int
		want string
	}{
		{0, sending + "    100kB (1MB/s)"},            // 0.1 s
		{19, sending + "      2MB (1MB/s)"},           // 2.0 s
		{24, sending + "      7MB (5.5MB/s)"},         // 2.5 s: half a second of each speed
		{29, sending + "     12MB (10MB/s)"},          // 3.0 s
		{30, sending + "     12MB in 3s (4MB/s)\r\n"}, // average
	} {
		if got[tc.i] != tc.want {
			t.Errorf("draw %d = %q, want %q", tc.i, got[tc.i], tc.want)
		}
	}
	golden.Assert(t, []byte(out), ".golden")
}

func TestUploadMeterSlowStart(t *testing.T) {
	t.Parallel()
	// Nothing read for 400 ms, then a burst: the first redraw comes with
	// the first bytes, the rate is over the whole upload so far.
	out, _ := upload(t, []chunk{{500_000, 400 * time.Millisecond}, {500_000, 50 * time.Millisecond}, {4_400_000, time.Second}}, nil)
	want := []string{
		sending + "    500kB (1.25MB/s)", // 0.4 s
		sending + "    5.4MB (4.67MB/s)", // 1.45 s, from 0.4 s on
		sending + "    5.4MB in 1.5s (3.72MB/s)\r\n",
	}
	if diff := cmp.Diff(want, draws(out)); diff != "" {
		t.Errorf("draws (-want +got):\n%s", diff)
	}
}

func TestUploadMeterError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	out, m := upload(t, []chunk{{2048, time.Millisecond}}, boom)
	if want := "\r\x1b[2K" + sending + "  2.048kB\r\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	var buf bytes.Buffer
	m.w = &buf
	m.Finish()
	if buf.Len() != 0 {
		t.Errorf("second Finish wrote %q", buf.String())
	}
}

func TestUploadMeterFinishBeforeRead(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	m := NewUploadMeter(&out, sending, 0, (&fakeClock{t: frozen}).Now)
	m.Finish()
	m.Finish()
	if want := "\r\x1b[2K" + sending + "       0B\r\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestUploadMeterFinishDuringUpload: the request's answer (Finish) may
// come while the upload goroutine still reads; the final line is drawn
// once, and nothing after it.
func TestUploadMeterFinishDuringUpload(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer // written under the meter's lock
	m := NewUploadMeter(&out, sending, 0, nil)
	r := m.Wrap(&endless{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for i := 0; i < 10000; i++ {
			_, _ = r.Read(buf)
		}
	}()
	m.SetTotal(1 << 30)
	m.Finish()
	<-done
	got := out.String()
	if !strings.HasSuffix(got, "\r\n") || strings.Count(got, "\r\n") != 1 {
		t.Errorf("want one final line at the end, got %q", got)
	}
}

// endless reads zeros forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) { clear(p); return len(p), nil }
