package version

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name              string
		ver, commit, date string
		bi                *debug.BuildInfo
		want              string
	}{
		{"nothing known", "", "", "", nil, "dev, build unknown"},
		{"go run", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev, build unknown"},
		{"go build in a checkout", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs", "git", "vcs.revision", "d0db3401cc52a4903f640dd63511bf9e121619e8", "vcs.time", "2026-12-02T06:03:06Z", "vcs.modified", "false")},
			"dev, build d0db3401cc52 (2026-12-02T06:03:06Z)"},
		{"go build with changes", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "d0db3401cc52a4903f640dd63511bf9e121619e8", "vcs.time", "2026-12-02T06:03:06Z", "vcs.modified", "true")},
			"dev, build d0db3401cc52 (2026-12-02T06:03:06Z, modified)"},
		{"go install of a tag", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0, build unknown"},
		{"go install of an untagged commit", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202060306-d0db3401cc52"}},
			"v0.0.0-20261202060306-d0db3401cc52, build d0db3401cc52 (2026-12-02T06:03:06Z)"},
		{"go install after a tag", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.1-0.20261202060306-d0db3401cc52"}},
			"v1.2.1-0.20261202060306-d0db3401cc52, build d0db3401cc52 (2026-12-02T06:03:06Z)"},
		{"goreleaser", "1.2.0", "d0db340", "2026-12-02T06:10:00Z", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			"1.2.0, build d0db340 (2026-12-02T06:10:00Z)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(tc.ver, tc.commit, tc.date, tc.bi); got != tc.want {
				t.Errorf("describe = %q, want %q", got, tc.want)
			}
		})
	}
}
