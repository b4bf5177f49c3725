package buildkit

import (
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
	"github.com/opencontainers/go-digest"
)

// policyQuiet is how long the policies' step stays open after a message:
// the messages of one burst of decisions show in one step, as buildx
// groups them.
const policyQuiet = 500 * time.Millisecond

// policyLogger shows the policies' messages as buildx does: a step named
// after the policy files, started by a message and completed once no
// message came for policyQuiet (and again for a later burst); it ends
// with the policy's error when the build was denied.
type policyLogger struct {
	p    *printer
	dgst digest.Digest
	name string

	mu      sync.Mutex
	started time.Time
	open    bool
	closed  bool
	burst   int
	timer   *time.Timer
}

func newPolicyLogger(p *printer, name string) *policyLogger {
	return &policyLogger{p: p, dgst: digest.FromBytes([]byte(identity.NewID())), name: name}
}

func (l *policyLogger) log(msg string) {
	if msg == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if !l.open {
		l.open = true
		l.burst++
		l.started = time.Now()
		l.vertex(nil, "")
	}
	if l.timer != nil {
		l.timer.Stop()
	}
	burst := l.burst
	l.timer = time.AfterFunc(policyQuiet, func() { l.quiet(burst) })
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	l.p.write(&client.SolveStatus{Logs: []*client.VertexLog{{Vertex: l.dgst, Stream: 1, Data: []byte(msg), Timestamp: time.Now()}}})
}

// quiet completes the step of a burst no message followed.
func (l *policyLogger) quiet(burst int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || !l.open || burst != l.burst {
		return
	}
	l.open = false
	now := time.Now()
	l.vertex(&now, "")
}

// close ends the step; err is the denial to show on it, if any.
func (l *policyLogger) close(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.open || (err != nil && !l.started.IsZero()) {
		l.open = false
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		now := time.Now()
		l.vertex(&now, msg)
	}
}

func (l *policyLogger) vertex(completed *time.Time, errMsg string) {
	started := l.started
	l.p.write(&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: l.dgst, Name: l.name, Started: &started, Completed: completed, Error: errMsg}}})
}
