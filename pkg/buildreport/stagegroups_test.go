package buildreport

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStageGroups(t *testing.T) {
	for _, tc := range []struct {
		name string
		ci   CI
		in   string
		want string
	}{
		{name: "classic, two stages", ci: CI{Kind: GitHub},
			in: "Sending build context to Docker daemon  2.048kB\r\r\nStep 1/4 : FROM busybox AS build\n ---> 1a2b\nStep 2/4 : RUN make\n ---> Running in 3c\nStep 3/4 : FROM busybox\n ---> 1a2b\nStep 4/4 : COPY --from=build /x /x\nSuccessfully built 4d\n",
			want: "Sending build context to Docker daemon  2.048kB\r\r\n" +
				"::group::stage build\nStep 1/4 : FROM busybox AS build\n ---> 1a2b\nStep 2/4 : RUN make\n ---> Running in 3c\n" +
				"::endgroup::\n::group::stage 1\nStep 3/4 : FROM busybox\n ---> 1a2b\nStep 4/4 : COPY --from=build /x /x\nSuccessfully built 4d\n::endgroup::\n"},
		{name: "BuildKit, interleaved stages", ci: CI{Kind: GitHub},
			in: "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#5 [a 1/2] RUN sleep 1\n#6 [b 1/2] RUN true\n#6 DONE 0.1s\n#5 DONE 1.0s\n\n#8 exporting to image\n#8 DONE 0.0s\n",
			want: "::group::build\n#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n" +
				"::endgroup::\n::group::stage a\n#5 [a 1/2] RUN sleep 1\n" +
				"::endgroup::\n::group::stage b\n#6 [b 1/2] RUN true\n#6 DONE 0.1s\n" +
				"::endgroup::\n::group::stage a\n#5 DONE 1.0s\n\n" +
				"::endgroup::\n::group::build\n#8 exporting to image\n#8 DONE 0.0s\n::endgroup::\n"},
		{name: "BuildKit, one unnamed stage", ci: CI{Kind: GitHub},
			in:   "#4 [1/2] FROM docker.io/library/busybox\n#4 DONE 0.0s\n#5 [2/2] RUN true\n",
			want: "::group::stage 0\n#4 [1/2] FROM docker.io/library/busybox\n#4 DONE 0.0s\n#5 [2/2] RUN true\n::endgroup::\n"},
		{name: "BuildKit, two platforms", ci: CI{Kind: GitHub},
			in:   "#7 [linux/arm64 app 2/2] RUN true\n#8 [linux/amd64 2/2] RUN true\n",
			want: "::group::stage linux/arm64 app\n#7 [linux/arm64 app 2/2] RUN true\n::endgroup::\n::group::stage linux/amd64\n#8 [linux/amd64 2/2] RUN true\n::endgroup::\n"},
		{name: "GitLab sections", ci: CI{Kind: GitLab},
			in:   "Step 1/1 : FROM busybox AS app\nSuccessfully built 4d\n",
			want: "\x1b[0Ksection_start:0:stage_app[collapsed=true]\r\x1b[0Kstage app\nStep 1/1 : FROM busybox AS app\nSuccessfully built 4d\n\x1b[0Ksection_end:0:stage_app\r\x1b[0K\n"},
		{name: "no CI: passed through", in: "Step 1/1 : FROM busybox AS app\nno newline",
			want: "Step 1/1 : FROM busybox AS app\nno newline"},
		{name: "a line without its newline at the end", ci: CI{Kind: GitHub}, in: "#5 [a 1/2] RUN x\n#5 ERROR: boom",
			want: "::group::stage a\n#5 [a 1/2] RUN x\n#5 ERROR: boom\n::endgroup::\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Written a few bytes at a time: a line split across writes.
			var out strings.Builder
			g := NewStageGroups(&out, tc.ci)
			g.now = func() time.Time { return time.Unix(0, 0) }
			for in := tc.in; in != ""; {
				n := min(len(in), 7)
				if _, err := g.Write([]byte(in[:n])); err != nil {
					t.Fatal(err)
				}
				in = in[n:]
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A line longer than what is held passes through whole, in order.
func TestStageGroupsLongLine(t *testing.T) {
	var out strings.Builder
	g := NewStageGroups(&out, CI{Kind: GitHub})
	long := strings.Repeat("x", maxHeld+10)
	in := "#5 [a 1/2] RUN x\n" + long + "\n#5 DONE 0.1s\n"
	for _, p := range []string{in[:20], in[20 : maxHeld/2], in[maxHeld/2:]} {
		if _, err := g.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	want := "::group::stage a\n" + in + "::endgroup::\n"
	if got := out.String(); got != want {
		t.Errorf("got %d bytes, want %d: the long line was not passed through in order", len(got), len(want))
	}
}
