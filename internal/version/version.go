// Package version holds the build's version, set with -ldflags -X, with
// the module's build information as a fallback.
package version

import (
	"regexp"
	"runtime/debug"
	"strings"
	"time"
)

// Set at link time: -X github.com/mybuild/mybuild/internal/version.Version=…
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// String describes this build for --version: "v1.2.0, build 1a2b3c4d5e6f
// (2026-12-02T06:03:06Z)", ", modified" when the tree had uncommitted
// changes, "dev, build unknown" when nothing is known.
func String() string {
	bi, _ := debug.ReadBuildInfo()
	return describe(Version, Commit, Date, bi)
}

// pseudoVersion is the tail of a module pseudo-version (what `go install
// …@latest` of an untagged commit stamps): its time and commit.
var pseudoVersion = regexp.MustCompile(`(?:^|[-.])(\d{14})-([0-9a-f]{12})(?:\+incompatible)?$`)

// describe fills what the linker flags leave empty from bi: the module
// version, else the VCS stamps of a `go build` in a checkout, else a
// pseudo-version's commit and time.
func describe(ver, commit, date string, bi *debug.BuildInfo) string {
	modified := false
	if bi != nil {
		if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			case s.Key == "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if m := pseudoVersion.FindStringSubmatch(bi.Main.Version); m != nil && commit == "" {
			commit = m[2]
			if t, err := time.Parse("20060102150405", m[1]); err == nil && date == "" {
				date = t.Format(time.RFC3339)
			}
		}
	}
	if ver == "" {
		ver = "dev"
	}
	if commit == "" {
		return ver + ", build unknown"
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	var about []string
	if date != "" {
		about = append(about, date)
	}
	if modified {
		about = append(about, "modified")
	}
	s := ver + ", build " + commit
	if len(about) > 0 {
		s += " (" + strings.Join(about, ", ") + ")"
	}
	return s
}
