package buildkit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/client"

	"github.com/mybuild/mybuild/internal/build"
)

func TestStepRecorder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(n int) *time.Time { v := t0.Add(time.Duration(n) * time.Second); return &v }
	var r stepRecorder
	r.record(&client.SolveStatus{Vertexes: []*client.Vertex{
		{Digest: "sha256:a", Name: "[internal] load build context", Started: at(0)},
		{Digest: "sha256:b", Name: "[1/2] FROM busybox", Started: at(0), Completed: at(1), Cached: true},
	}, Statuses: []*client.VertexStatus{{ID: "transferring context", Current: 10}}})
	r.record(&client.SolveStatus{Vertexes: []*client.Vertex{
		{Digest: "sha256:a", Name: "[internal] load build context", Started: at(0), Completed: at(2)},
		{Digest: "sha256:c", Name: "[2/2] RUN false", Started: at(2), Completed: at(3), Error: "exit code: 1"},
	}, Logs: []*client.VertexLog{{Vertex: "sha256:c", Data: []byte("one\r\ntwo\n")}, {Vertex: "sha256:unknown", Data: []byte("lost\n")}},
		Statuses: []*client.VertexStatus{{ID: "transferring context", Current: 4096}}})
	steps, ctxBytes := r.result()
	want := []build.Step{
		{Name: "[internal] load build context", Started: *at(0), Completed: *at(2)},
		{Name: "[1/2] FROM busybox", Cached: true, Started: *at(0), Completed: *at(1)},
		{Name: "[2/2] RUN false", Started: *at(2), Completed: *at(3), Error: "exit code: 1", Log: []string{"one", "two"}},
	}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if ctxBytes != 4096 {
		t.Errorf("context bytes = %d, want 4096", ctxBytes)
	}
}
