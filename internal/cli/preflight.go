package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
)

// preflight makes, in docker's order, the checks docker makes before it
// parses the build flags and counts the arguments: the log level, then
// config.json (its warnings are printed), then DOCKER_BUILDKIT.
func preflight(o *BuildOptions) (*dockerconfig.Config, error) {
	if err := checkLogLevel(o.Global.LogLevel); err != nil {
		return nil, err
	}
	cfg := o.configs.load(o.Global.ConfigDir, o.IO.ErrOut)
	if err := checkBuildkitEnv(o.Getenv("DOCKER_BUILDKIT")); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkBuildkitEnv rejects a DOCKER_BUILDKIT that is not a boolean, as
// docker does (the builder was chosen from it before; see chooseBuilder).
func checkBuildkitEnv(v string) error {
	if v == "" {
		return nil
	}
	if _, err := strconv.ParseBool(v); err != nil {
		return fmt.Errorf("DOCKER_BUILDKIT environment variable expects boolean value: %w", err)
	}
	return nil
}

// checkLogLevel accepts the levels docker's logger knows, and "" (docker
// then keeps its default).
func checkLogLevel(level string) error {
	switch strings.ToLower(level) {
	case "", "panic", "fatal", "error", "warn", "warning", "info", "debug", "trace":
		return nil
	}
	return fmt.Errorf("Unable to parse logging level: %s", level)
}

// checkProgress validates --progress; "quiet" is -q.
func checkProgress(o *BuildOptions) error {
	switch o.Progress {
	case "auto", "tty", "plain":
	case "quiet":
		o.Quiet = true
	default:
		return flagError(fmt.Errorf("invalid argument %q for \"--progress\" flag: want auto, tty, plain or quiet", o.Progress))
	}
	return nil
}

// daemonRequirements are what the flags given need of the daemon, from
// their annotations (as docker/cli annotates its flags): "version", the
// API version the flag needs, and "experimental". A flag given counts even
// when set to its default (docker checks --squash=false too).
func daemonRequirements(fl *pflag.FlagSet) []build.Requirement {
	var out []build.Requirement
	fl.VisitAll(func(f *pflag.Flag) {
		if !f.Changed {
			return
		}
		r := build.Requirement{Flag: f.Name}
		if v := f.Annotations["version"]; len(v) > 0 {
			r.APIVersion = v[0]
		}
		_, r.Experimental = f.Annotations["experimental"]
		if r.APIVersion != "" || r.Experimental {
			out = append(out, r)
		}
	})
	return out
}
