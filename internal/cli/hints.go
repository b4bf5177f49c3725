package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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

// flagHint suggests the flag one typo away from an unknown one.
func flagHint(fl *pflag.FlagSet, err error) string {
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
