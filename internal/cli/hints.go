package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/opts"
	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/dockerignore"
	"github.com/mybuild/mybuild/pkg/jsonstream"
)

// hintError is an error with one more line for the user, printed after
// docker's message (which stays as it is), where docker leaves one stuck.
type hintError struct {
	err  error
	hint string
}

func (h *hintError) Error() string { return h.err.Error() }
func (h *hintError) Unwrap() error { return h.err }

func withHint(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return &hintError{err: err, hint: hint}
}

const dropBuild = "mybuild is `docker build`: drop `build` (mybuild -t name .)"

// argsHint explains a wrong argument count that comes from a habit:
// `docker build`'s word, or a --list-context format without its "=".
func argsHint(o *BuildOptions, cmd *cobra.Command, args []string) string {
	if len(args) == 0 {
		return ""
	}
	if args[0] == "build" {
		return dropBuild
	}
	if f := cmd.Flags().Lookup("list-context"); f != nil && f.Changed && f.Value.String() == listDefault && slices.Contains(listFormats, args[0]) {
		return listFormatHint(args[0])
	}
	return ""
}

func listFormatHint(format string) string {
	return "use --list-context=" + format + " (a format needs the =)"
}

// flagHint suggests the flag one typo away from an unknown one, or
// BuildKit for one of its flags that the classic builder does not take.
func flagHint(fl *pflag.FlagSet, err error) string {
	if h := buildkitFlagHint(err.Error()); h != "" {
		return h
	}
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return ""
	}
	var near []string
	fl.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && oneTypo(name, f.Name) {
			near = append(near, "--"+f.Name)
		}
	})
	if len(near) == 0 {
		return ""
	}
	return "did you mean " + strings.Join(near, " or ") + "?"
}

// oneTypo: b is a with one character added, dropped, changed, or two
// neighbours swapped.
func oneTypo(a, b string) bool {
	if a == b {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	switch len(b) - len(a) {
	case 0:
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		return a[i:] == b[i+1:]
	}
	return false
}

// hinted adds buildHint's line to err.
func hinted(err error, o *BuildOptions) error { return withHint(err, buildHint(err, o)) }

// buildHint explains a failed build or inspection where docker's message
// leaves the user without a next step.
func buildHint(err error, o *BuildOptions) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if h := buildkitHint(msg, o); h != "" {
		return h
	}
	if !localDir(o.Context) {
		switch {
		case o.Context == "build" && strings.HasSuffix(msg, `path "build" not found`):
			return dropBuild
		case o.Inspect.List == listDefault && slices.Contains(listFormats, o.Context):
			return listFormatHint(o.Context)
		}
		return ""
	}
	if strings.Contains(msg, "Dockerfile path: ") || strings.Contains(msg, "Cannot locate Dockerfile") {
		return dockerfileHint(o)
	}
	var st *StatusError
	if errors.As(err, &st) {
		return excludedHint(st.Message, o)
	}
	if se, ok := jsonstream.IsStreamError(err); ok {
		return excludedHint(se.Message, o)
	}
	return ""
}

func localDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir() && path != "-"
}

// dockerfileHint says where the Dockerfile was looked for and which files
// of the context look like one.
func dockerfileHint(o *BuildOptions) string {
	if o.Dockerfile == "-" {
		return ""
	}
	found := dockerfileCandidates(o.Context, 5)
	if f := o.Dockerfile; f != "" {
		if _, err := os.Lstat(f); err == nil {
			return ""
		}
		alt := filepath.Join(o.Context, f)
		if _, err := os.Lstat(alt); err == nil && !filepath.IsAbs(f) && filepath.Clean(o.Context) != "." {
			return "-f is a path from the working directory, not from the context: -f " + alt
		}
		if len(found) > 0 {
			return fmt.Sprintf("-f %s: no such file (from the working directory); Dockerfiles in the context: %s", f, strings.Join(found, ", "))
		}
		return fmt.Sprintf("-f %s: no such file (-f takes a path from the working directory)", f)
	}
	if len(found) > 0 {
		return fmt.Sprintf("no file named Dockerfile in %s; name one with -f: %s", o.Context, strings.Join(found, ", "))
	}
	return fmt.Sprintf("no file named Dockerfile in %s; name the Dockerfile with -f, or send it on stdin with -f -", o.Context)
}

// dockerfileCandidates lists up to max files of dir and its direct
// subdirectories whose name says Dockerfile (Containerfile, *.dockerfile),
// as paths from the working directory.
func dockerfileCandidates(dir string, max int) []string {
	var found []string
	var look func(rel string, depth int)
	look = func(rel string, depth int) {
		names, err := readDirNames(filepath.Join(dir, rel), 500)
		if err != nil {
			return
		}
		for _, n := range names {
			p := filepath.Join(rel, n)
			fi, err := os.Stat(filepath.Join(dir, p))
			switch {
			case err != nil || len(found) == max:
			case fi.IsDir() && depth == 0 && !strings.HasPrefix(n, "."):
				look(p, 1)
			case fi.Mode().IsRegular() && looksLikeDockerfile(n):
				found = append(found, filepath.Join(dir, p))
			}
		}
	}
	look("", 0)
	return found
}

func looksLikeDockerfile(name string) bool {
	l := strings.ToLower(name)
	return (strings.Contains(l, "dockerfile") || strings.Contains(l, "containerfile")) && !strings.HasSuffix(l, ".dockerignore")
}

// readDirNames returns at most n names of dir, sorted.
func readDirNames(dir string, n int) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(n)
	slices.Sort(names)
	return names, err
}

// copyFailed is the classic builder's message for a COPY or ADD source
// that is not in the context it received.
var copyFailed = regexp.MustCompile(`^(?:COPY|ADD) failed: file not found in build context or excluded by \.dockerignore: stat (.+): file does not exist$`)

// excludedHint names the .dockerignore line that kept a COPY source out.
func excludedHint(msg string, o *BuildOptions) string {
	m := copyFailed.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	local, err := buildcontext.ResolveLocal(o.Context, o.Dockerfile)
	if err != nil {
		return ""
	}
	rules, err := dockerignore.ReadRules(local.Dir)
	if err != nil || len(rules) == 0 {
		return ""
	}
	v, err := dockerignore.ExplainPath(local.Dir, rules, local.Dockerfile, m[1])
	if err != nil || v.Sent || v.Rule == nil {
		return ""
	}
	return explainLine(v, local.Dir, dockerignore.FileName) + fmt.Sprintf(" (mybuild --explain-path %s %s)", v.Path, o.Context)
}

const needsBuildKit = "this needs BuildKit, and the classic builder is building: run with DOCKER_BUILDKIT=1"

// buildkitFlagHint: the flag the classic builder did not know is one of
// BuildKit's (--secret, -o, …).
func buildkitFlagHint(msg string) string {
	bk := pflag.NewFlagSet("buildkit", pflag.ContinueOnError)
	addBuildKitFlags(bk, &buildkitOptions{ulimits: opts.NewUlimitOpt(nil)}, func(string) string { return "" })
	var fl *pflag.Flag
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		fl = bk.Lookup(name)
	} else if m := unknownShorthand.FindStringSubmatch(msg); m != nil {
		fl = bk.ShorthandLookup(m[1])
	}
	if fl == nil || fl.Hidden {
		return ""
	}
	return "--" + fl.Name + " is BuildKit's, and the classic builder is building: run with DOCKER_BUILDKIT=1"
}

var unknownShorthand = regexp.MustCompile(`^unknown shorthand flag: '(.)' in `)

// classicRefusals are the classic builder's answers to what only BuildKit
// builds: an instruction option it refuses, a flag its parser does not know.
var classicRefusals = regexp.MustCompile(`the --[a-z-]+ option requires BuildKit|dockerfile parse error (?:on )?line \d+: Unknown flag: (?:mount|network|security|link|chmod|checksum|parents|exclude|keep-git-dir|device)\b`)

// heredocParse is the classic parser's error on a here-document's body.
var heredocParse = regexp.MustCompile(`dockerfile parse error (?:on )?line (\d+): unknown instruction`)

// buildkitHint names DOCKER_BUILDKIT=1 when the classic builder failed on
// something only BuildKit builds (the daemon's message stays as it is).
func buildkitHint(msg string, o *BuildOptions) string {
	if classicRefusals.MatchString(msg) {
		return needsBuildKit
	}
	if m := heredocParse.FindStringSubmatch(msg); m != nil && heredocBefore(o, m[1]) {
		return "a here-document (<<EOF) " + needsBuildKit[len("this "):]
	}
	return ""
}

var heredocStart = regexp.MustCompile(`<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?`)

// heredocBefore reports a here-document opened on an instruction line before
// line n of the Dockerfile on disk.
func heredocBefore(o *BuildOptions, line string) bool {
	n, err := strconv.Atoi(line)
	if err != nil || !localDir(o.Context) {
		return false
	}
	local, err := buildcontext.ResolveLocal(o.Context, o.Dockerfile)
	if err != nil || local.Dockerfile == "" {
		return false
	}
	path := local.Dockerfile
	if !filepath.IsAbs(path) {
		path = filepath.Join(local.Dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < n-1 && i < len(lines); i++ {
		if heredocStart.MatchString(lines[i]) {
			return true
		}
	}
	return false
}
