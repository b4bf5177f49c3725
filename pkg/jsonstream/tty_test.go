package jsonstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	units "github.com/docker/go-units"
	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/golden"
)

// frozen is the clock of every TTY test.
var frozen = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func frozenNow() time.Time { return frozen }

func readStream(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "streams", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstLines returns the first n messages of a .jsonl stream.
func firstLines(b []byte, n int) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	return bytes.Join(lines[:n], nil)
}

func renderTTY(t *testing.T, in []byte, width int, color bool) (out []byte, aux []string, err error) {
	t.Helper()
	var buf bytes.Buffer
	err = DisplayTTY(context.Background(), bytes.NewReader(in), &buf, TTYOptions{
		Options: Options{Strict: true, OnAux: func(r json.RawMessage) { aux = append(aux, string(r)) }},
		Width:   width,
		Color:   color,
		Now:     frozenNow,
	})
	return buf.Bytes(), aux, err
}

func TestDisplayTTYGolden(t *testing.T) {
	for _, name := range []string{"pull-layers", "build-success", "run-fails"} {
		for _, width := range []int{80, 120} {
			for _, color := range []bool{true, false} {
				mode := "color"
				if !color {
					mode = "nocolor"
				}
				t.Run(fmt.Sprintf("%s-w%d-%s", name, width, mode), func(t *testing.T) {
					out, aux, err := renderTTY(t, readStream(t, name), width, color)
					errText := "<nil>"
					if err != nil {
						errText = err.Error()
						if se, ok := IsStreamError(err); ok {
							errText += "\ncode: " + strconv.Itoa(se.Code)
						}
					}
					var b bytes.Buffer
					b.WriteString("--- output\n")
					b.Write(out)
					b.WriteString("\n--- aux\n" + strings.Join(aux, "\n") + "\n--- error\n" + errText + "\n")
					golden.Assert(t, b.Bytes(), ".golden")
				})
			}
		}
	}
}

// wantPullScreen is what a user sees after the pull-layers build, at any
// width: each layer once with its final status, every stream line.
var wantPullScreen = []string{
	"Step 1/4 : FROM registry.example.test/team/app-base:1.4",
	"1.4: Pulling from team/app-base",
	"4abcf2066143: Pull complete",
	"9d0a1c4e7b52: Pull complete",
	"e3f1b6a2c8d7: Pull complete",
	"Digest: sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c",
	"Status: Downloaded newer image for registry.example.test/team/app-base:1.4",
	" ---> 4e1b2c3d5f6a",
	"Step 2/4 : WORKDIR /app",
	" ---> Running in 5c6d7e8f9a0b",
	"Removing intermediate container 5c6d7e8f9a0b",
	" ---> 0b1c2d3e4f5a",
	"Step 3/4 : RUN ./configure --quiet",
	" ---> Running in 6a7b8c9d0e1f",
	"checking for gcc... gcc",
	"configure: WARNING: unrecognized options: --quiet",
	"Removing intermediate container 6a7b8c9d0e1f",
	" ---> 7f8e9d0c1b2a",
	`Step 4/4 : CMD ["/app/run"]`,
	" ---> Running in 8c9d0e1f2a3b",
	"Removing intermediate container 8c9d0e1f2a3b",
	" ---> 2d3e4f5a6b7c",
	"Successfully built 2d3e4f5a6b7c",
	"Successfully tagged local/app:dev",
	"Time per step:",
	"  1/4  0.0s  FROM registry.example.test/team/app-base:1.4",
	"  2/4  0.0s  WORKDIR /app",
	"  3/4  0.0s  RUN ./configure --quiet",
	`  4/4  0.0s  CMD ["/app/run"]`,
	"Built in 0.0s",
}

func TestDisplayTTYScreenPull(t *testing.T) {
	t.Parallel()
	in := readStream(t, "pull-layers")
	for _, width := range []int{80, 120} {
		for _, color := range []bool{true, false} {
			t.Run(fmt.Sprintf("w%d-color=%v", width, color), func(t *testing.T) {
				out, _, err := renderTTY(t, in, width, color)
				if err != nil {
					t.Fatal(err)
				}
				s := newScreen(t, width)
				s.Write(out)
				t.Logf("screen at the end:\n%s", strings.Join(s.Lines(), "\n"))
				if diff := cmp.Diff(wantPullScreen, s.Lines()); diff != "" {
					t.Errorf("screen (-want +got):\n%s", diff)
				}
				if s.row != len(wantPullScreen) || s.col != 0 {
					t.Errorf("cursor at %d,%d, want the start of the line after the output", s.row, s.col)
				}
			})
		}
	}
}

// TestDisplayTTYScreenMidPull stops the stream while the second layer is
// downloading and the first extracting: the user sees live bars.
func TestDisplayTTYScreenMidPull(t *testing.T) {
	t.Parallel()
	in := readStream(t, "pull-layers")
	n := bytes.Count(in[:bytes.Index(in, []byte(`"current":12582912`))], []byte("\n")) + 1
	for _, tc := range []struct {
		width int
		want  []string
	}{
		{80, []string{
			"Step 1/4 : FROM registry.example.test/team/app-base:1.4",
			"1.4: Pulling from team/app-base",
			"4abcf2066143: Extracting [=================>                 ]  1.737MB/3.409MB",
			"9d0a1c4e7b52: Downloading [==============>                   ]  12.58MB/28.58MB",
			"e3f1b6a2c8d7: Downloading [===========>                      ]  65.54kB/186.4kB",
		}},
		{60, []string{
			"Step 1/4 : FROM registry.example.test/team/app-base:1.4",
			"1.4: Pulling from team/app-base",
			"4abcf2066143: Extracting [=======>       ]  1.737MB/3.409MB",
			"9d0a1c4e7b52: Downloading [=====>        ]  12.58MB/28.58MB",
			"e3f1b6a2c8d7: Downloading [====>         ]  65.54kB/186.4kB",
		}},
		{50, []string{
			"Step 1/4 : FROM registry.example.test/team/app-base:1.4",
			"1.4: Pulling from team/app-base",
			"4abcf2066143: Extracting  1.737MB/3.409MB",
			"9d0a1c4e7b52: Downloading  12.58MB/28.58MB",
			"e3f1b6a2c8d7: Downloading  65.54kB/186.4kB",
		}},
		{120, []string{
			"Step 1/4 : FROM registry.example.test/team/app-base:1.4",
			"1.4: Pulling from team/app-base",
			"4abcf2066143: Extracting [=========================>                         ]  1.737MB/3.409MB",
			"9d0a1c4e7b52: Downloading [======================>                            ]  12.58MB/28.58MB",
			"e3f1b6a2c8d7: Downloading [=================>                                 ]  65.54kB/186.4kB",
		}},
	} {
		t.Run(strconv.Itoa(tc.width), func(t *testing.T) {
			out, _, err := renderTTY(t, firstLines(in, n), tc.width, true)
			if err != nil {
				t.Fatal(err)
			}
			s := newScreen(t, tc.width)
			s.Write(out)
			t.Logf("screen after %d messages:\n%s", n, strings.Join(s.Lines(), "\n"))
			if diff := cmp.Diff(tc.want, withoutSummary(s.Lines())); diff != "" {
				t.Errorf("screen (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDisplayTTYBarFitsWidth: at every width from 40 to 130 columns and
// after every message of a pull (with and without a start time, which adds
// the time left), each layer's line fits in width-1 columns; from 60
// columns on (66 with a time left) every line with a total has a bar,
// filled as its counts say.
func TestDisplayTTYBarFitsWidth(t *testing.T) {
	t.Parallel()
	recorded := readStream(t, "pull-layers")
	started := bytes.ReplaceAll(recorded, []byte(`"progressDetail":{"current":`),
		[]byte(`"progressDetail":{"start":`+strconv.FormatInt(frozen.Add(-90*time.Second).Unix(), 10)+`,"current":`))
	layerLine := regexp.MustCompile(`^[0-9a-f]{12}: (Downloading|Extracting)( \[(=*)>( *)\])? +([0-9.]+)([kMG]?B)/([0-9.]+)([kMG]?B)( [0-9hms]+)?$`)
	for name, in := range map[string][]byte{"recorded": recorded, "with start": started} {
		for width := 40; width <= 130; width++ {
			s := newScreen(t, width)
			msgs := 0
			w := writerFunc(func(b []byte) (int, error) {
				s.Write(b)
				msgs++
				for _, l := range s.Lines() {
					if !layerIDLine.MatchString(l) {
						continue
					}
					if utf8.RuneCountInString(l) > width-1 {
						t.Errorf("%s, width %d, write %d: %d columns: %q", name, width, msgs, utf8.RuneCountInString(l), l)
					}
					m := layerLine.FindStringSubmatch(l)
					switch {
					case m == nil: // a status without counts
					case m[2] == "":
						if width >= 60 && m[9] == "" || width >= 66 {
							t.Errorf("%s, width %d, write %d: no bar: %q", name, width, msgs, l)
						}
					default:
						cur, _ := units.FromHumanSize(m[5] + m[6])
						total, _ := units.FromHumanSize(m[7] + m[8])
						cells := len(m[3]) + len(m[4])
						if want := int(float64(cur)/float64(total)*100) * cells / 100; abs(len(m[3])-want) > 1 {
							t.Errorf("%s, width %d: %d of %d cells filled for %s/%s, want about %d: %q", name, width, len(m[3]), cells, m[5]+m[6], m[7]+m[8], want, l)
						}
					}
				}
				return len(b), nil
			})
			if err := DisplayTTY(context.Background(), bytes.NewReader(in), w, TTYOptions{Width: width, Now: frozenNow}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var layerIDLine = regexp.MustCompile(`^[0-9a-f]{12}: `)

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func abs(n int) int { return max(n, -n) }

// TestDisplayTTYStreamLinesKept: every line of stream text the daemon sends
// is on the screen, in order, for every recorded stream.
func TestDisplayTTYStreamLinesKept(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"pull-layers", "pull-progress", "build-success", "run-fails", "bare-error"} {
		t.Run(name, func(t *testing.T) {
			in := readStream(t, name)
			var text strings.Builder
			dec := json.NewDecoder(bytes.NewReader(in))
			for {
				var m Message
				if dec.Decode(&m) != nil {
					break
				}
				text.WriteString(m.Stream)
			}
			want := strings.Split(sgr.ReplaceAllString(text.String(), ""), "\n")
			for _, width := range []int{40, 80, 120} {
				out, _, _ := renderTTY(t, in, width, false)
				s := newScreen(t, width)
				s.Write(out)
				got := s.Lines()
				i := 0
				for _, w := range want {
					if w == "" {
						continue
					}
					w = strings.TrimRight(w, " ")
					for i < len(got) && got[i] != w {
						i++
					}
					if i == len(got) {
						t.Errorf("width %d: stream line %q missing (or out of order) on screen:\n%s", width, w, strings.Join(got, "\n"))
						break
					}
					i++
				}
			}
		})
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestDisplayTTYColor: without colour the only SGR codes are the daemon's
// own (RUN stderr in red), written untouched.
func TestDisplayTTYColor(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"pull-layers", "run-fails"} {
		in := readStream(t, name)
		var daemon []string
		dec := json.NewDecoder(bytes.NewReader(in))
		for {
			var m Message
			if dec.Decode(&m) != nil {
				break
			}
			daemon = append(daemon, sgr.FindAllString(m.Stream, -1)...)
		}
		if len(daemon) == 0 {
			t.Fatalf("%s: the stream should carry the daemon's escape codes", name)
		}
		plain, _, _ := renderTTY(t, in, 120, false)
		if diff := cmp.Diff(daemon, sgr.FindAllString(string(plain), -1)); diff != "" {
			t.Errorf("%s without colour: SGR codes (-daemon's +written):\n%s", name, diff)
		}
		if !bytes.Contains(plain, []byte("\x1b[91m")) {
			t.Errorf("%s: the daemon's red was dropped", name)
		}
		colored, _, _ := renderTTY(t, in, 120, true)
		if name == "pull-layers" && len(sgr.FindAllString(string(colored), -1)) <= len(daemon) {
			t.Errorf("%s with colour: no colour of our own", name)
		}
		if got := sgr.ReplaceAllString(string(colored), ""); got != sgr.ReplaceAllString(string(plain), "") {
			t.Errorf("%s: colour changed the text:\n%q\n%q", name, got, plain)
		}
	}
}

// TestDisplayTTYErrorsLikeDisplay: the same failures, codes and strict rule
// as the non-terminal renderer.
func TestDisplayTTYErrorsLikeDisplay(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"hello\n",
		`{"stream":"abc`,
		`{"errorDetail":{"message":"boom"}}`,
		`{"errorDetail":{"code":300,"message":"boom"}}`,
		`{"errorDetail":{"code":401,"message":"no"}}`,
		`{"error":"bad"}`,
		`{"status":"x","progressDetail":{"current":1,"total":2},"id":"a"}` + "\n" + `{"errorDetail":{"code":2,"message":"pull failed"}}`,
		`{"stream":"Step 1/1 : FROM scratch\n"}` + "\n" + `{"stream":"ok\n"}`,
	} {
		for _, strict := range []bool{true, false} {
			want := Display(context.Background(), strings.NewReader(in), &bytes.Buffer{}, Options{Strict: strict})
			got := DisplayTTY(context.Background(), strings.NewReader(in), &bytes.Buffer{}, TTYOptions{Options: Options{Strict: strict}, Width: 80})
			if diff := cmp.Diff(describeErr(want), describeErr(got)); diff != "" {
				t.Errorf("%q strict=%v (-Display +DisplayTTY):\n%s", in, strict, diff)
			}
		}
	}
}

func describeErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	if se, ok := IsStreamError(err); ok {
		return fmt.Sprintf("StreamError{%d, %q}", se.Code, se.Message)
	}
	return err.Error()
}

func TestDisplayTTYCancelled(t *testing.T) {
	t.Parallel()
	cause := errors.New("interrupted")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	err := DisplayTTY(ctx, strings.NewReader(`{"stream":"x\n"}`), &bytes.Buffer{}, TTYOptions{})
	if !errors.Is(err, cause) {
		t.Errorf("err = %v, want %v", err, cause)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestDisplayTTYWriteError(t *testing.T) {
	t.Parallel()
	err := DisplayTTY(context.Background(), strings.NewReader(`{"stream":"x\n"}`), failingWriter{}, TTYOptions{})
	if err == nil || err.Error() != "broken pipe" {
		t.Errorf("err = %v, want broken pipe", err)
	}
}

// TestDisplayTTYScreen covers the cursor bookkeeping around the block.
func TestDisplayTTYScreen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		width int
		in    string
		want  []string
	}{
		{
			"stream without newline is not overwritten by a block",
			80,
			`{"stream":"half a line"}
{"status":"Pulling fs layer","progressDetail":{},"id":"aaa"}
{"status":"Pull complete","progressDetail":{},"id":"aaa"}`,
			[]string{"half a line", "aaa: Pull complete"},
		},
		{
			"the daemon's colour reset after a newline leaves no blank line",
			80,
			`{"stream":"\u001b[91merr\n\u001b[0m"}
{"status":"Downloading","progressDetail":{"current":5,"total":10},"id":"aaa"}`,
			[]string{"err", "aaa: Downloading [=======================>                       ]       5B/10B"},
		},
		{
			"output between updates starts a new block, as docker does",
			80,
			`{"status":"Waiting","progressDetail":{},"id":"aaa"}
{"status":"Waiting","progressDetail":{},"id":"bbb"}
{"stream":"note\n"}
{"status":"Pull complete","progressDetail":{},"id":"bbb"}
{"status":"Pull complete","progressDetail":{},"id":"ccc"}
{"status":"Already exists","progressDetail":{},"id":"bbb"}`,
			[]string{"aaa: Waiting", "bbb: Waiting", "note", "bbb: Already exists", "ccc: Pull complete"},
		},
		{
			"progress without an id is a line of the block too",
			120,
			`{"status":"Downloading build context from remote url: https://example.test/ctx.tar","progressDetail":{"current":1000,"total":4000}}
{"status":"Downloading build context from remote url: https://example.test/ctx.tar","progressDetail":{"current":4000,"total":4000}}
{"stream":"Step 1/1 : FROM scratch\n"}`,
			[]string{
				"Downloading build context from remote url: https://example.test/ctx.tar [===============================>]      4kB/4kB",
				"Step 1/1 : FROM scratch",
			},
		},
		{
			"block lines are cut to the width so that they never wrap",
			30,
			`{"status":"Downloading","progressDetail":{"current":1000000,"total":4000000},"id":"0123456789ab"}
{"status":"Downloading","progressDetail":{"current":1000000,"total":4000000},"id":"ba9876543210"}
{"status":"Downloading","progressDetail":{"current":2000000,"total":4000000},"id":"0123456789ab"}`,
			[]string{"0123456789ab: Downloading 2MB", "ba9876543210: Downloading 1MB"},
		},
		{
			"status lines with time, id and from",
			80,
			`{"status":"stamped","time":1700000000,"from":"base","id":"x"}
{"status":"legacy","progress":"half done","id":"y"}`,
			[]string{"2023-11-14T22:13:20.000000000Z x: (from base) stamped", "y: legacy half done"},
		},
		{
			"a line left open at the end is ended",
			80,
			`{"stream":"no newline"}`,
			[]string{"no newline"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := renderTTY(t, []byte(tc.in), tc.width, true)
			if err != nil {
				t.Fatal(err)
			}
			s := newScreen(t, tc.width)
			s.Write(out)
			if diff := cmp.Diff(tc.want, withoutSummary(s.Lines())); diff != "" {
				t.Errorf("screen (-want +got):\n%s\nraw: %q", diff, out)
			}
			if s.col != 0 {
				t.Errorf("cursor left at column %d", s.col)
			}
		})
	}
}

// withoutSummary drops the step times DisplayTTY prints at the end.
func withoutSummary(lines []string) []string {
	for i, l := range lines {
		if l == "Time per step:" || i == len(lines)-1 && (strings.HasPrefix(l, "Built in ") || strings.HasPrefix(l, "Failed after ")) {
			return lines[:i]
		}
	}
	return lines
}

func TestFormatProgress(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Unix(1000, 0) }
	for _, tc := range []struct {
		name  string
		p     Progress
		width int
		want  string
	}{
		{"empty", Progress{}, 120, ""},
		{"no total", Progress{Current: 1234567}, 120, " 1.235MB"},
		{"no total, units", Progress{Current: 3, Units: "items"}, 120, "3 items"},
		{"bar above 110", Progress{Current: 1, Total: 4}, 111, "[" + strings.Repeat("=", 12) + ">" + strings.Repeat(" ", 38) + "]       1B/4B"},
		{"no bar at 110", Progress{Current: 1, Total: 4}, 110, "      1B/4B"},
		{"done", Progress{Current: 4, Total: 4}, 120, "[==================================================>]       4B/4B"},
		{"wonky current", Progress{Current: 5000, Total: 4000}, 80, "     5kB"},
		{"units", Progress{Current: 2, Total: 7, Units: "layers"}, 80, "2/7 layers"},
		{"units, wonky", Progress{Current: 8, Total: 7, Units: "layers"}, 80, "8 layers"},
		{"hide counts", Progress{Current: 2, Total: 4, HideCounts: true}, 120, "[=========================>                         ] "},
		{"time left", Progress{Current: 1_000_000, Total: 4_000_000, Start: 990}, 80, "     1MB/4MB 30s"},
		{"fast download still gets a time", Progress{Current: 900_000_000, Total: 1_000_000_000, Start: 999}, 80, "   900MB/1GB 0s"},
		{"no time left at 50 columns", Progress{Current: 1_000_000, Total: 4_000_000, Start: 990}, 50, "     1MB/4MB"},
		{"no time left when done", Progress{Current: 4_000_000, Total: 4_000_000, Start: 990}, 80, "     4MB/4MB"},
		{"unknown width is docker's 200", Progress{Current: 1, Total: 2}, 0, "[" + strings.Repeat("=", 25) + ">" + strings.Repeat(" ", 25) + "]       1B/2B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatProgress(&tc.p, tc.width, now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEndsWithNewline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		ends, ok bool
	}{
		{"a\n", true, true},
		{"a", false, true},
		{"a\r", false, true},
		{"err\n\x1b[0m", true, true},
		{"err\x1b[0m", false, true},
		{"\x1b[0m", false, false},
		{"a\n\x1b[1;31m\x1b[0m", true, true},
		{"\x1b[", false, true},
	} {
		ends, ok := endsWithNewline(tc.in)
		if ends != tc.ends || ok != tc.ok {
			t.Errorf("endsWithNewline(%q) = %v, %v; want %v, %v", tc.in, ends, ok, tc.ends, tc.ok)
		}
	}
}

// screen is a tiny terminal: it interprets what DisplayTTY and UploadMeter
// write (text, \r, \n, cursor up/down, erase line/below, SGR) into lines,
// growing downwards like a terminal with unlimited scrollback. Moving the
// cursor off the written area, or any other sequence, fails the test.
type screen struct {
	t     *testing.T
	width int
	lines [][]rune
	cont  []bool // the line continues the one above (auto-wrap)
	row   int
	col   int
}

func newScreen(t *testing.T, width int) *screen {
	return &screen{t: t, width: width, lines: [][]rune{nil}, cont: []bool{false}}
}

func (s *screen) Write(b []byte) {
	s.t.Helper()
	for len(b) > 0 {
		switch c := b[0]; {
		case c == 0x1b:
			n := s.escape(b)
			b = b[n:]
			continue
		case c == '\r':
			s.col = 0
		case c == '\n':
			s.newline()
		case c < 0x20:
			s.t.Errorf("screen: control byte %#x", c)
		default:
			r, size := utf8.DecodeRune(b)
			if s.col >= s.width {
				s.newline()
				s.cont[s.row] = true
			}
			line := s.lines[s.row]
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = r
			s.lines[s.row] = line
			s.col++
			b = b[size:]
			continue
		}
		b = b[1:]
	}
}

func (s *screen) newline() {
	s.row++
	s.col = 0
	if s.row == len(s.lines) {
		s.lines = append(s.lines, nil)
		s.cont = append(s.cont, false)
	}
}

var csi = regexp.MustCompile(`^\x1b\[([0-9;]*)([A-Za-z])`)

func (s *screen) escape(b []byte) int {
	s.t.Helper()
	m := csi.FindSubmatch(b)
	if m == nil {
		s.t.Fatalf("screen: unknown escape sequence at %q", b[:min(len(b), 8)])
	}
	n, _ := strconv.Atoi(string(m[1]))
	switch string(m[2]) {
	case "m":
	case "A":
		s.row -= max(n, 1)
		if s.row < 0 {
			s.t.Errorf("screen: cursor moved above the output")
			s.row = 0
		}
	case "B":
		s.row += max(n, 1)
		if s.row >= len(s.lines) {
			s.t.Errorf("screen: cursor moved below the output (a terminal would not follow)")
			s.row = len(s.lines) - 1
		}
	case "K":
		switch n {
		case 0:
			if s.col < len(s.lines[s.row]) {
				s.lines[s.row] = s.lines[s.row][:s.col]
			}
		case 2:
			s.lines[s.row] = nil
		default:
			s.t.Errorf("screen: erase line mode %d", n)
		}
	default:
		s.t.Errorf("screen: unexpected sequence %q", m[0])
	}
	return len(m[0])
}

// Lines returns the screen's lines, rows joined where they wrapped,
// without trailing blanks and without the empty line the cursor waits on
// at the end.
func (s *screen) Lines() []string {
	var out []string
	for i, l := range s.lines {
		if s.cont[i] && len(out) > 0 {
			out[len(out)-1] += string(l)
			continue
		}
		out = append(out, string(l))
	}
	for i := range out {
		out[i] = strings.TrimRight(out[i], " ")
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}
