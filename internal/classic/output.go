package classic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/engine"
	"github.com/mybuild/mybuild/pkg/jsonstream"
)

// outputs are where progress and the daemon's stream go: stdout, or
// buffers with -q (replayed on stderr if the build fails). tty selects
// mybuild's live terminal view; otherwise output is docker's, byte for byte.
type outputs struct {
	stdout   io.Writer
	stderr   io.Writer
	quiet    bool
	tty      bool
	width    int
	start    time.Time // of the build, for the time the live view prints
	color    bool
	noColor  bool // NO_COLOR: the daemon's colours are dropped too
	progress io.Writer
	build    io.Writer
	progBuf  *lockedBuffer
	buildBuf *lockedBuffer
	meter    *jsonstream.UploadMeter
	sizing   func() // stops the walk that finds the meter's total
}

func newOutputs(o *build.Request) *outputs {
	out := &outputs{stdout: o.IO.Out, stderr: o.IO.ErrOut, quiet: o.Quiet, progress: o.IO.Out, build: o.IO.Out, noColor: o.Getenv("NO_COLOR") != ""}
	if o.Quiet {
		out.progBuf, out.buildBuf = &lockedBuffer{}, &lockedBuffer{}
		out.progress, out.build = out.progBuf, out.buildBuf
		return out
	}
	if o.Progress == "tty" || (o.Progress == "auto" && o.IO.IsStdoutTTY()) {
		out.tty, out.width, out.start = true, o.IO.TerminalWidth(), time.Now()
		out.color = !out.noColor && o.Getenv("TERM") != "dumb"
	}
	return out
}

// uploadBody counts the context on its way out: a live meter on a
// terminal, docker's "Sending build context" line elsewhere.
func (out *outputs) uploadBody(ctx context.Context, src *contextSource, compressed bool) io.Reader {
	if out.tty {
		out.meter = jsonstream.NewUploadMeter(out.progress, sendingAction, out.width, time.Now)
		if src.tar != nil && !compressed {
			out.sizing = sizeForMeter(ctx, src.tar, out.meter)
		}
		return out.meter.Wrap(src)
	}
	return &jsonstream.ProgressReader{R: src, Report: jsonstream.FinalLine(out.progress, sendingAction)}
}

// uploadDone ends the live meter's line once the request is answered.
func (out *outputs) uploadDone() {
	if out.sizing != nil {
		out.sizing()
	}
	if out.meter != nil {
		out.meter.Finish()
	}
}

// display renders the daemon's stream the chosen way.
func (out *outputs) display(ctx context.Context, body io.Reader, o jsonstream.Options) error {
	o.NoColor = out.noColor
	if out.tty {
		return jsonstream.DisplayTTY(ctx, body, out.build, jsonstream.TTYOptions{Options: o, Width: out.width, Color: out.color, Start: out.start})
	}
	return jsonstream.Display(ctx, body, out.build, o)
}

// lockedBuffer is written by the upload goroutine and read by ours.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// sendError explains a failed request. A context problem found while
// streaming wins, as docker finds those before it connects; when the
// daemon could not be reached the context is checked first for the same
// reason.
func sendError(ctx context.Context, err error, src *contextSource, out *outputs) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if werr := src.walkError(); werr != nil {
		return werr
	}
	var ce *engine.ConnectionError
	if errors.As(err, &ce) && src.tar != nil {
		if werr := src.tar.Check(ctx); werr != nil {
			return werr
		}
	}
	if out.quiet {
		fmt.Fprint(out.stderr, out.progBuf.String())
	}
	return err
}

// showStream renders the daemon's answer and returns the image ID it gave.
func showStream(ctx context.Context, body io.Reader, out *outputs, onStream func(string)) (string, error) {
	var imageID string
	onAux := func(raw json.RawMessage) {
		id, err := jsonstream.ImageID(raw)
		if err != nil {
			fmt.Fprintf(out.stderr, "Failed to parse aux message: %s", err)
			return
		}
		imageID = id
	}
	err := out.display(ctx, body, jsonstream.Options{OnAux: onAux, OnStream: onStream, Strict: true})
	if err == nil {
		return imageID, nil
	}
	if ctx.Err() != nil {
		return "", context.Cause(ctx)
	}
	if _, ok := jsonstream.IsStreamError(err); ok && out.quiet {
		fmt.Fprintf(out.stderr, "%s%s", out.progBuf.String(), out.buildBuf.String())
	}
	return "", err
}

// finish prints the ID for -q and writes --iidfile; it returns the ID.
func finish(o *build.Request, out *outputs, imageID string) (string, error) {
	if o.Quiet {
		imageID = out.buildBuf.String()
		fmt.Fprint(out.stdout, imageID)
	}
	if o.ImageIDFile == "" {
		return imageID, nil
	}
	if imageID == "" {
		return "", fmt.Errorf("Server did not provide an image ID. Cannot write %s", o.ImageIDFile)
	}
	return imageID, os.WriteFile(o.ImageIDFile, []byte(imageID), 0o666)
}

// sizeForMeter gives the live meter the upload's total: a walk of the
// context beside the upload, with lstat alone (cheap next to reading the
// files, which the upload does once). It returns the function that stops
// the walk and waits for it.
func sizeForMeter(ctx context.Context, t *buildcontext.Tar, m *jsonstream.UploadMeter) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if n, err := t.Size(ctx); err == nil {
			m.SetTotal(n)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
