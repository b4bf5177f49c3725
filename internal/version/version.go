// Package version holds the build's version, set with -ldflags -X, with
// the module's build information as a fallback.
package version

import "runtime/debug"

// Set at link time: -X github.com/mybuild/mybuild/internal/version.Version=…
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// Info returns the version and commit, filling gaps from build info.
func Info() (ver, commit string) {
	ver, commit = Version, Commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && commit == "" {
				commit = s.Value
			}
		}
	}
	if ver == "" {
		ver = "dev"
	}
	if commit == "" {
		commit = "unknown"
	}
	return ver, commit
}
