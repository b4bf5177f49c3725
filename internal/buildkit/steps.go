package buildkit

import (
	"strings"
	"sync"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"

	"github.com/mybuild/mybuild/internal/build"
)

// stepRecorder keeps each vertex of the solves as a build step, in the
// order they first appeared, and what the context transfer weighed.
type stepRecorder struct {
	mu      sync.Mutex
	index   map[digest.Digest]int
	steps   []build.Step
	context int64 // bytes of the largest "transferring context" status
}

func (r *stepRecorder) record(s *client.SolveStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.index == nil {
		r.index = map[digest.Digest]int{}
	}
	for _, v := range s.Vertexes {
		i, ok := r.index[v.Digest]
		if !ok {
			i = len(r.steps)
			r.index[v.Digest] = i
			r.steps = append(r.steps, build.Step{})
		}
		st := &r.steps[i]
		st.Name, st.Cached = v.Name, v.Cached
		if v.Started != nil {
			st.Started = *v.Started
		}
		if v.Completed != nil {
			st.Completed = *v.Completed
		}
		st.Error = v.Error
	}
	for _, l := range s.Logs {
		if i, ok := r.index[l.Vertex]; ok {
			for _, line := range strings.Split(strings.TrimRight(string(l.Data), "\n"), "\n") {
				r.steps[i].AddLog(strings.TrimRight(line, "\r"))
			}
		}
	}
	for _, vs := range s.Statuses {
		if strings.HasPrefix(vs.ID, "transferring ") && vs.Current > r.context {
			r.context = vs.Current
		}
	}
}

// result is the steps recorded so far and the context's size.
func (r *stepRecorder) result() ([]build.Step, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]build.Step(nil), r.steps...), r.context
}
