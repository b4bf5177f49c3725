package testbed

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Two runs of one build as buildx prints them: other vertex numbers, other
// interleaving, times, sizes and digests, a status shown before its size,
// a vertex resumed after another, two exporters sharing a status.
const (
	plainA = `#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 96B 0.0s done
#1 DONE 0.0s

#2 [internal] load build context
#2 transferring context: 2.10kB
#2 transferring context: 4.20kB 0.1s done
#2 DONE 0.1s

#3 [2/2] RUN echo out
#3 0.077 out
#3 ...

#4 exporting to image
#4 exporting manifest sha256:1111111111111111111111111111111111111111111111111111111111111111 done
#4 DONE 0.2s

#3 [2/2] RUN echo out
#3 0.078 more
#3 DONE 0.2s

#5 exporting to image
#5 pushing layers 0.0s done
#5 DONE 0.3s
------
 > [2/2] RUN echo out:
0.077 out
------
ERROR: failed to build: failed to solve: sha256:2222222222222222222222222222222222222222222222222222222222222222: exit code: 3
`
	plainB = `#0 building with "default" instance using docker driver

#1 [internal] load build context
#1 transferring context: 31B done
#1 DONE 0.0s

#2 [internal] load build definition from Dockerfile
#2 transferring dockerfile: 31B done
#2 DONE 0.1s

#3 exporting to image
#3 pushing layers done
#3 exporting manifest sha256:3333333333333333333333333333333333333333333333333333333333333333 done
#3 DONE 0.2s

#4 [2/2] RUN echo out
#4 0.101 out
#4 0.102 more
#4 DONE 0.1s

#5 exporting to image
#5 DONE 0.1s
------
 > [2/2] RUN echo out:
0.101 out
------
ERROR: failed to build: failed to solve: sha256:4444444444444444444444444444444444444444444444444444444444444444: exit code: 3
`
)

func TestParsePlainMasksTimingAndOrder(t *testing.T) {
	a, b := ParsePlain(plainA), ParsePlain(plainB)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two runs of one build differ (-a +b):\n%s", diff)
	}
	want := Vertex{Name: "exporting to image", Count: 2, End: "DONE", Statuses: []string{"exporting manifest sha256:D", "pushing layers"}}
	if diff := cmp.Diff(want, a.Vertices[len(a.Vertices)-1]); diff != "" {
		t.Errorf("the exporters (-want +got):\n%s", diff)
	}
	if got := a.After[len(a.After)-1]; got != "ERROR: failed to build: failed to solve: sha256:D: exit code: 3" {
		t.Errorf("summary %q", got)
	}
}

func TestParsePlainKeepsWhatDiffers(t *testing.T) {
	for name, other := range map[string]string{
		"a log line":  "#1 [2/2] RUN x\n#1 0.1 other\n#1 DONE 0.1s\n",
		"the end":     "#1 [2/2] RUN x\n#1 0.1 out\n#1 CACHED\n",
		"a step name": "#1 [2/2] RUN y\n#1 0.1 out\n#1 DONE 0.1s\n",
	} {
		base := ParsePlain("#1 [2/2] RUN x\n#1 0.1 out\n#1 DONE 0.1s\n")
		if cmp.Equal(base, ParsePlain(other)) {
			t.Errorf("%s: a difference was masked", name)
		}
	}
}

func TestParseRawJSONAsPlain(t *testing.T) {
	raw := `{"vertexes":[{"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","name":"[2/2] RUN x","started":"2026-01-01T00:00:00Z"}]}
{"logs":[{"vertex":"sha256:1111111111111111111111111111111111111111111111111111111111111111","stream":1,"data":"b3V0Cg=="}]}
{"vertexes":[{"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","name":"[2/2] RUN x","completed":"2026-01-01T00:00:01Z"}]}
`
	got := ParseRawJSON(raw)
	want := Progress{Vertices: []Vertex{{Name: "[2/2] RUN x", Count: 1, End: "DONE", Logs: []string{"out"}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSettleFillsAnUnfinishedStep(t *testing.T) {
	a := ParsePlain("#1 [internal] load build definition from Dockerfile\n#1 ...\n")
	b := ParsePlain("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n")
	Settle(&a, &b)
	if !cmp.Equal(a, b) {
		t.Errorf("not settled: %+v %+v", a, b)
	}
}

func TestParsePlainSolveRace(t *testing.T) {
	a := ParsePlain("#1 [internal] load x\n#1 DONE 0.0s\nERROR: failed to build: failed to run Build function: failed to solve with frontend dockerfile.v0: boom\n")
	b := ParsePlain("#1 [internal] load x\n#1 DONE 0.0s\nERROR: failed to build: failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: boom\n")
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("(-a +b):\n%s", diff)
	}
}

// TestParsePlainGoLog: a line of Go's standard logger that buildx's session
// prints, or not, is no line of the build's; a line that looks alike but is
// the build's stays.
func TestParsePlainGoLog(t *testing.T) {
	const build = "#0 building with \"single\" instance using remote driver\n#1 [internal] load x\n#1 DONE 0.0s\nERROR: failed to build: boom\n"
	noisy := ParsePlain("2026/12/07 11:56:37 http2: server: error reading preface from client localhost: rpc error: code = Internal desc = SendMsg called after CloseSend\n" + build)
	if diff := cmp.Diff(ParsePlain(build), noisy); diff != "" {
		t.Errorf("(-quiet +noisy):\n%s", diff)
	}
	kept := ParsePlain(build + "2026/12/07 11:56:37 a line of the build\n")
	if got := kept.After[len(kept.After)-1]; got != "2026/12/07 11:56:37 a line of the build" {
		t.Errorf("last line %q, want the build's own", got)
	}
}

// TestParsePlainNegativeLogTime: a log line stamped before its vertex's
// start is a log line still.
func TestParsePlainNegativeLogTime(t *testing.T) {
	a := ParsePlain("#1 [internal] load git source x\n#1 -0.001 abc\trefs/heads/main\n#1 CACHED\n")
	b := ParsePlain("#1 [internal] load git source x\n#1 0.035 abc\trefs/heads/main\n#1 CACHED\n")
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("(-negative +positive):\n%s", diff)
	}
	if len(a.Vertices) != 1 || len(a.Vertices[0].Logs) != 1 {
		t.Errorf("vertices %+v, want one with one log line", a.Vertices)
	}
}
