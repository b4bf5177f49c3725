package jsonstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// rfc3339NanoFixed is docker's timestamp layout for "time" fields.
const rfc3339NanoFixed = "2006-01-02T15:04:05.000000000Z07:00"

// Options tune Display.
type Options struct {
	// OnAux receives every aux payload (the image ID comes this way).
	OnAux func(json.RawMessage)
	// OnStream receives the text of every stream message (the build's
	// step lines among them), before it is rendered.
	OnStream func(string)
	// Strict makes a bare "error" field without errorDetail fail the build;
	// docker ignores it and exits 0, which hides real failures.
	Strict bool
	// NoColor drops the SGR sequences (colours, bold, …) of the daemon's
	// stream text, such as the red of RUN's stderr (NO_COLOR); docker
	// keeps them.
	NoColor bool
}

// Display renders the stream r onto w in docker's non-terminal mode (which
// is what docker build uses even on a terminal): stream text verbatim,
// status lines with their id, progress bars dropped. It returns a
// *StreamError when the daemon reports a failure.
func Display(ctx context.Context, r io.Reader, w io.Writer, o Options) error {
	br := bufio.NewReaderSize(r, 64<<10)
	dec := json.NewDecoder(br)
	for {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		var m Message
		if err := dec.Decode(&m); err != nil {
			if err == io.EOF {
				return nil
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
		if err := render(w, &m, o); err != nil {
			return err
		}
	}
}

func (o *Options) stream(m *Message) {
	if m.Stream != "" && o.OnStream != nil {
		o.OnStream(m.Stream)
	}
}

func render(w io.Writer, m *Message, o Options) error {
	if err := messageError(m, o.Strict); err != nil {
		return err
	}
	if m.Progress != nil && !m.Progress.Empty() {
		return nil
	}
	var b bytes.Buffer
	if m.TimeNano != 0 {
		fmt.Fprintf(&b, "%s ", time.Unix(0, m.TimeNano).Format(rfc3339NanoFixed))
	} else if m.Time != 0 {
		fmt.Fprintf(&b, "%s ", time.Unix(m.Time, 0).Format(rfc3339NanoFixed))
	}
	if m.ID != "" {
		fmt.Fprintf(&b, "%s: ", m.ID)
	}
	if m.From != "" {
		fmt.Fprintf(&b, "(from %s) ", m.From)
	}
	switch {
	case m.ProgressMessage != "":
		fmt.Fprintf(&b, "%s %s", m.Status, m.ProgressMessage)
	case m.Stream != "":
		b.WriteString(streamText(m, o))
	default:
		b.WriteString(m.Status)
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// streamText is m's stream text as it is written.
func streamText(m *Message, o Options) string {
	if o.NoColor {
		return stripSGR(m.Stream)
	}
	return m.Stream
}

// stripSGR removes the complete SGR sequences (ESC [ digits ; : m) from s;
// other escape sequences are kept.
func stripSGR(s string) string {
	if !strings.Contains(s, "\x1b[") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + 2
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';' || s[j] == ':') {
			j++
		}
		if j < len(s) && s[j] == 'm' {
			b.WriteString(s[:i])
			s = s[j+1:]
		} else {
			b.WriteString(s[:i+2])
			s = s[i+2:]
		}
	}
}

// IsStreamError reports whether err is a failure reported by the daemon.
func IsStreamError(err error) (*StreamError, bool) {
	var se *StreamError
	ok := errors.As(err, &se)
	return se, ok
}
