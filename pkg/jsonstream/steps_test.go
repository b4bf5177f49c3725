package jsonstream

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// timedLines returns one line per Read, moving the clock by the line's
// delay first: each message arrives at a known time.
type timedLines struct {
	clock *fakeClock
	lines []timedLine
}

type timedLine struct {
	after time.Duration
	json  string
}

func (r *timedLines) Read(p []byte) (int, error) {
	if len(r.lines) == 0 {
		return 0, io.EOF
	}
	l := r.lines[0]
	r.lines = r.lines[1:]
	r.clock.Advance(l.after)
	return copy(p, l.json+"\n"), nil
}

// TestDisplayTTYStepTimes: at the end of the stream the terminal view
// prints how long each step took, from its first line to the next step's
// (the last one to the end), and the whole build's time since Start.
func TestDisplayTTYStepTimes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		width int
		lines []timedLine
		want  string // what follows the build's own output
		err   string
	}{
		{
			name:  "docker's steps",
			width: 80,
			lines: []timedLine{
				{2 * time.Second, `{"stream":"Step 1/3 : FROM busybox"}`},
				{0, `{"stream":"\n"}`},
				{400 * time.Millisecond, `{"stream":" ---\u003e 4e1b2c3d5f6a\n"}`},
				{0, `{"stream":"Step 2/3 : RUN make\n"}`},
				{12 * time.Second, `{"stream":"Step 3 of many : not a step\n"}`},
				{300 * time.Millisecond, `{"stream":"Step 3/3 : RUN sleep 75\n"}`},
				{75 * time.Second, `{"stream":"Successfully built 0b1c2d3e4f5a\n"}`},
			},
			want: "Time per step:\n" +
				"  1/3   0.4s  FROM busybox\n" +
				"  2/3  12.3s  RUN make\n" +
				"  3/3  1m15s  RUN sleep 75\n" +
				"Built in 1m31s\n",
		},
		{
			name:  "Podman's steps, a failure",
			width: 80,
			lines: []timedLine{
				{time.Second, `{"stream":"STEP 1/2: FROM busybox\n"}`},
				{500 * time.Millisecond, `{"stream":"STEP 2/2: RUN exit 3\n"}`},
				{2 * time.Second, `{"errorDetail":{"code":3,"message":"exit status 3"}}`},
			},
			want: "Time per step:\n" +
				"  1/2  0.5s  FROM busybox\n" +
				"  2/2  2.0s  RUN exit 3\n" +
				"Failed after 4.5s\n",
			err: "exit status 3",
		},
		{
			name:  "long instructions are cut to the width",
			width: 30,
			lines: []timedLine{
				{0, `{"stream":"Step 1/1 : RUN echo a very long command line\n"}`},
				{time.Second, `{"stream":"done\n"}`},
			},
			want: "Time per step:\n" +
				"  1/1  1.0s  RUN echo a very\n" +
				"Built in 2.0s\n",
		},
		{
			name:  "no steps",
			lines: []timedLine{{3 * time.Second, `{"stream":"hello\n"}`}},
			want:  "Built in 4.0s\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{t: frozen}
			var out bytes.Buffer
			r := &timedLines{clock: clock, lines: tc.lines}
			err := DisplayTTY(context.Background(), r, &out, TTYOptions{
				Options: Options{Strict: true}, Width: tc.width, Now: clock.Now, Start: frozen.Add(-time.Second),
			})
			if got := describeErr(err); tc.err == "" && err != nil || tc.err != "" && !strings.Contains(got, tc.err) {
				t.Fatalf("err = %s, want %q", got, tc.err)
			}
			got := out.String()
			if i := strings.LastIndex(got, "Time per step:\n"); i >= 0 {
				got = got[i:]
			} else if i := strings.LastIndex(got, "\n"+strings.SplitN(tc.want, " ", 2)[0]); i >= 0 {
				got = got[i+1:]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s\nall: %q", diff, out.String())
			}
		})
	}
}

// TestDisplayTTYNoSummaryWhenCut: a stream that breaks off or is
// cancelled gets no summary: the build did not end.
func TestDisplayTTYNoSummaryWhenCut(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_ = DisplayTTY(context.Background(), strings.NewReader(`{"stream":"Step 1/1 : FROM x\n"}{"stream":"abc`), &out, TTYOptions{Now: frozenNow})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = DisplayTTY(ctx, strings.NewReader(`{"stream":"Step 1/1 : FROM x\n"}`), &out, TTYOptions{Now: frozenNow})
	if strings.Contains(out.String(), "Built in") || strings.Contains(out.String(), "Time per step") {
		t.Errorf("summary printed: %q", out.String())
	}
}
