package buildkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/morikuni/aec"
	"github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/proto"
)

// printer renders the solve status with BuildKit's own progressui, as
// buildx's printer does: the same display modes, the "#0 building with …"
// line, and the warnings after the progress.
type printer struct {
	status   chan *client.SolveStatus
	done     chan struct{}
	mu       sync.RWMutex // closed, against a late status after wait
	closed   bool
	warnings []client.VertexWarning
	err      error
	steps    stepRecorder

	// logMu guards logSources: the status stream each vertex's logs are
	// taken from, as buildx's ValidateLogSource: the first stream to log
	// for it, until that stream ends. A vertex two solves share (a remote
	// context read for its policy file, then built) shows its logs once.
	logMu      sync.Mutex
	logSources map[digest.Digest]any
}

// ownLogs keeps the logs of s that src may show.
func (p *printer) ownLogs(s *client.SolveStatus, src any) {
	s.Logs = slices.DeleteFunc(s.Logs, func(l *client.VertexLog) bool { return !p.mayLog(l.Vertex, src) })
}

// mayLog says whether src may show logs for the vertex: it is the first
// to log for it, or the one that did.
func (p *printer) mayLog(vertex digest.Digest, src any) bool {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	owner, ok := p.logSources[vertex]
	if !ok {
		if p.logSources == nil {
			p.logSources = map[digest.Digest]any{}
		}
		p.logSources[vertex] = src
		return true
	}
	return owner == src
}

// releaseLogs lets other streams log for the vertices src logged for.
func (p *printer) releaseLogs(src any) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	maps.DeleteFunc(p.logSources, func(_ digest.Digest, v any) bool { return v == src })
}

func newPrinter(out io.Writer, mode progressui.DisplayMode, b *Instance, debug bool, onClose func(p *printer)) (*printer, error) {
	d, err := progressui.NewDisplay(out, mode, progressui.WithDesc(
		fmt.Sprintf("building with %q instance using %s driver", b.Name, b.Driver),
		fmt.Sprintf("%s:%s", b.Driver, b.Name),
	))
	if err != nil {
		return nil, err
	}
	p := &printer{status: make(chan *client.SolveStatus), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.warnings, p.err = d.UpdateFrom(context.Background(), p.status)
		p.warnings = dedupWarnings(p.warnings)
		onClose(p)
	}()
	return p, nil
}

// write shows s; a status that comes after the display ended (a session
// callback late in its goroutine) is dropped.
func (p *printer) write(s *client.SolveStatus) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.closed {
		p.steps.record(s)
		p.status <- s
	}
}

// wait ends the display once every status is shown.
func (p *printer) wait() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.status)
	}
	p.mu.Unlock()
	<-p.done
	return p.err
}

// channel is a status channel for one solve, forwarding to the printer
// with times shifted so that its first vertex starts now (buildx's
// ResetTime); done is closed once the solve closed it.
func (p *printer) channel() (chan *client.SolveStatus, <-chan struct{}) {
	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		defer p.releaseLogs(done)
		var diff *time.Duration
		for s := range ch {
			p.ownLogs(s, done)
			if diff == nil {
				for _, v := range s.Vertexes {
					if v.Started != nil {
						d := v.Started.Sub(start)
						diff = &d
					}
				}
			}
			if diff != nil {
				s = shiftStatus(s, *diff)
			}
			p.write(s)
		}
	}()
	return ch, done
}

func shiftStatus(st *client.SolveStatus, d time.Duration) *client.SolveStatus {
	shift := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		x := t.Add(-d)
		return &x
	}
	out := &client.SolveStatus{Warnings: st.Warnings}
	for _, v := range st.Vertexes {
		v := *v
		v.Started, v.Completed = shift(v.Started), shift(v.Completed)
		out.Vertexes = append(out.Vertexes, &v)
	}
	for _, s := range st.Statuses {
		s := *s
		s.Started, s.Completed = shift(s.Started), shift(s.Completed)
		s.Timestamp = s.Timestamp.Add(-d)
		out.Statuses = append(out.Statuses, &s)
	}
	for _, l := range st.Logs {
		l := *l
		l.Timestamp = l.Timestamp.Add(-d)
		out.Logs = append(out.Logs, &l)
	}
	return out
}

// printWarnings is buildx's warning summary after the progress.
func printWarnings(w io.Writer, warnings []client.VertexWarning, mode progressui.DisplayMode, debug bool) {
	if len(warnings) == 0 || mode == progressui.QuietMode || mode == progressui.RawJSONMode {
		return
	}
	fmt.Fprintf(w, "\n ")
	sb := &bytes.Buffer{}
	if len(warnings) == 1 {
		fmt.Fprintf(sb, "1 warning found")
	} else {
		fmt.Fprintf(sb, "%d warnings found", len(warnings))
	}
	if !debug {
		fmt.Fprintf(sb, " (use docker --debug to expand)")
	}
	fmt.Fprintf(sb, ":\n")
	fmt.Fprint(w, aec.Apply(sb.String(), aec.YellowF))
	for _, warn := range warnings {
		fmt.Fprintf(w, " - %s\n", warn.Short)
		if !debug {
			continue
		}
		for _, d := range warn.Detail {
			fmt.Fprintf(w, "%s\n", d)
		}
		if warn.URL != "" {
			fmt.Fprintf(w, "More info: %s\n", warn.URL)
		}
		if warn.SourceInfo != nil && warn.Range != nil {
			src := errdefs.Source{Info: warn.SourceInfo, Ranges: warn.Range}
			src.Print(w)
		}
		fmt.Fprintf(w, "\n")
	}
}

// dedupWarnings drops warnings equal but for their vertex.
func dedupWarnings(in []client.VertexWarning) []client.VertexWarning {
	out := make([]client.VertexWarning, 0, len(in))
	for _, w := range in {
		if !slices.ContainsFunc(out, func(prev client.VertexWarning) bool { return equalWarnings(prev, w) }) {
			out = append(out, w)
		}
	}
	return out
}

func equalWarnings(a, b client.VertexWarning) bool {
	if a.Level != b.Level || a.URL != b.URL || !bytes.Equal(a.Short, b.Short) ||
		!slices.EqualFunc(a.Detail, b.Detail, bytes.Equal) {
		return false
	}
	if (a.SourceInfo == nil) != (b.SourceInfo == nil) {
		return false
	}
	if a.SourceInfo != nil && (a.SourceInfo.Filename != b.SourceInfo.Filename ||
		a.SourceInfo.Language != b.SourceInfo.Language || !bytes.Equal(a.SourceInfo.Data, b.SourceInfo.Data)) {
		return false
	}
	return slices.EqualFunc(a.Range, b.Range, func(a, b *pb.Range) bool { return proto.Equal(a, b) })
}

// vertex writes a client-side step (a push through the daemon, a
// manifest list, a load) to the printer as one vertex; f may report
// statuses of it.
func (p *printer) vertex(name string, f func(set func(*client.VertexStatus)) error) error {
	dgst := randomDigest()
	tm := time.Now()
	v := client.Vertex{Digest: dgst, Name: name, Started: &tm}
	p.write(&client.SolveStatus{Vertexes: []*client.Vertex{&v}})
	err := f(func(st *client.VertexStatus) {
		st.Vertex = dgst
		p.write(&client.SolveStatus{Statuses: []*client.VertexStatus{st}})
	})
	tm2 := time.Now()
	v2 := v
	v2.Completed = &tm2
	if err != nil {
		v2.Error = err.Error()
	}
	p.write(&client.SolveStatus{Vertexes: []*client.Vertex{&v2}})
	return err
}
