package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/pkg/buildreport"
)

// A FROM's vertex names its digest only when the image was resolved: the
// step's text is the same either way, the digest a base.
func TestBuildKitStepsFrom(t *testing.T) {
	const dgst = "sha256:d53a8480e9ec584875ffb1569c0a45683468f88790267ffe4ea2d75a6f9ed1de"
	for _, name := range []string{
		"[1/2] FROM docker.io/library/busybox:latest@" + dgst,
		"[1/2] FROM docker.io/library/busybox:latest",
	} {
		bases := map[string]string{}
		got := buildkitSteps([]build.Step{{Name: name}, {Name: "[2/2] COPY . /app"}}, bases)
		want := []buildreport.Step{{Stage: "0", Text: "FROM docker.io/library/busybox:latest"}, {Stage: "0", Text: "COPY . /app"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: steps (-want +got):\n%s", name, diff)
		}
		if strings.Contains(name, "@") && bases["docker.io/library/busybox:latest"] != dgst {
			t.Errorf("%s: bases %v", name, bases)
		}
	}
}
