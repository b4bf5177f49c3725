package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/dockercontext"
	"github.com/mybuild/mybuild/pkg/dockerfile"
)

// Shells lists the shells --completion writes scripts for.
var Shells = []string{"bash", "zsh", "fish", "powershell"}

// writeCompletion writes cmd's completion script for shell. It is a flag
// (--completion SHELL), not a subcommand, so that no word can shadow a
// context directory.
func writeCompletion(cmd *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		var b bytes.Buffer
		if err := cmd.GenBashCompletionV2(&b, true); err != nil {
			return err
		}
		script, err := bashStandalone(b.String())
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, script)
		return err
	case "zsh":
		return cmd.GenZshCompletion(w)
	case "fish":
		return cmd.GenFishCompletion(w, true)
	case "powershell":
		return cmd.GenPowerShellCompletionWithDesc(w)
	}
	return flagError(fmt.Errorf("invalid argument %q for \"--completion\" flag: want one of bash, zsh, fish, powershell", shell))
}

// Without the bash-completion package (a bare bash, macOS's), cobra's
// script calls _get_comp_words_by_ref and _filedir, which are not there:
// every Tab printed "command not found". These stand in for them.
const (
	bashInitCobra = `__mybuild_init_completion()
{
    COMPREPLY=()
    _get_comp_words_by_ref "$@" cur prev words cword
}
`
	bashInit = `__mybuild_init_completion()
{
    COMPREPLY=()
    if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        _get_comp_words_by_ref "$@" cur prev words cword
        return
    fi
    # Without bash-completion: the words up to the cursor, split at blanks
    # only (bash also splits at = and :, which -n =: undoes).
    local line=${COMP_LINE:0:COMP_POINT}
    read -r -a words <<<"$line"
    if [[ -z $line || $line == *[[:blank:]] ]]; then
        words+=("")
    fi
    cword=$((${#words[@]} - 1))
    cur=${words[cword]}
    prev=${words[cword-1]}
}

# _filedir comes with bash-completion; without it, plain names (mybuild
# filters no extensions).
__mybuild_filedir()
{
    if declare -F _filedir >/dev/null 2>&1; then
        _filedir "$@"
        return
    fi
    local IFS=$'\n'
    if [[ ${1-} == -d ]]; then
        COMPREPLY+=($(compgen -d -- "$cur"))
    else
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
    compopt -o filenames 2>/dev/null
}
`
)

var filedirCall = regexp.MustCompile(`\b_filedir\b`)

// bashStandalone makes cobra's bash script work without bash-completion.
func bashStandalone(script string) (string, error) {
	if strings.Count(script, bashInitCobra) != 1 {
		return "", errors.New("cobra's bash completion script changed: update bashStandalone")
	}
	script = filedirCall.ReplaceAllString(script, "__mybuild_filedir")
	return strings.Replace(script, bashInitCobra, bashInit, 1), nil
}

// registerCompletions gives flag values sensible completions.
func registerCompletions(cmd *cobra.Command, o *BuildOptions) {
	fixed := func(vals ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return vals, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = cmd.MarkFlagFilename("file")
	_ = cmd.MarkFlagFilename("iidfile")
	_ = cmd.MarkFlagFilename("config")
	_ = cmd.MarkFlagDirname("config")
	_ = cmd.RegisterFlagCompletionFunc("network", fixed("default", "none", "host", "bridge"))
	_ = cmd.RegisterFlagCompletionFunc("platform", fixed("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386", "linux/ppc64le", "linux/s390x", "linux/riscv64", "windows/amd64"))
	_ = cmd.RegisterFlagCompletionFunc("isolation", fixed("default", "process", "hyperv"))
	_ = cmd.RegisterFlagCompletionFunc("list-context", fixed(listFormats...))
	_ = cmd.RegisterFlagCompletionFunc("completion", fixed(Shells...))
	_ = cmd.RegisterFlagCompletionFunc("log-level", fixed("debug", "info", "warn", "error", "fatal"))
	_ = cmd.RegisterFlagCompletionFunc("host", fixed("unix:///var/run/docker.sock", "tcp://", "ssh://"))
	_ = cmd.RegisterFlagCompletionFunc("target", func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		return stageNames(o, args), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("context", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return contextNames(configDir(o)), cobra.ShellCompDirectiveNoFileComp
	})
	if cmd.Flags().Lookup("progress") != nil {
		modes := []string{"auto", "tty", "plain", "quiet"}
		if cmd.Flags().Lookup("secret") != nil { // BuildKit's modes
			modes = append(modes, "rawjson", "none")
		}
		_ = cmd.RegisterFlagCompletionFunc("progress", fixed(modes...))
	}
	_ = cmd.RegisterFlagCompletionFunc("call", fixed("build", "check", "outline", "targets"))
	// The hook for BuildKit's --builder, once it is a flag: the builders of
	// buildx's store (BUILDX_CONFIG, when it is read, moves that store).
	if cmd.Flags().Lookup("builder") != nil {
		_ = cmd.RegisterFlagCompletionFunc("builder", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return builderNames(configDir(o)), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// mergeBuildKitFlags makes the classic flag set complete a BuildKit line:
// BuildKit's flags it lacks are added, and the classic flags BuildKit
// hides are hidden, so a Tab offers what docker build with buildx offers,
// with the classic command's value completions.
func mergeBuildKitFlags(classic, bk *pflag.FlagSet) {
	bk.VisitAll(func(fl *pflag.Flag) {
		if fl.Name == "version" || fl.Name == "help" {
			return
		}
		if c := classic.Lookup(fl.Name); c != nil {
			c.Hidden = fl.Hidden
			c.Usage = fl.Usage
			return
		}
		classic.AddFlag(fl)
	})
}

// completing reports a line that cobra's completion command handles.
func completing(args []string) bool {
	return len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd)
}

func configDir(o *BuildOptions) string {
	return dockercontext.ConfigDir(dockercontext.Inputs{ConfigDir: o.Global.ConfigDir, Env: o.Getenv})
}

// stageNames are the stages of the Dockerfile the command line names so
// far: -f, else the context argument's Dockerfile.
func stageNames(o *BuildOptions, args []string) []string {
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	return dockerfile.Stages(readDockerfile(dir, o.Dockerfile))
}

// readDockerfile parses the Dockerfile a build of contextDir reads (file:
// -f, "" for the context's own), nil when it cannot be read (stdin, a
// remote context, a missing file).
func readDockerfile(contextDir, file string) []dockerfile.Instruction {
	if file == "-" {
		return nil
	}
	if file == "" {
		local, err := buildcontext.ResolveLocal(contextDir, "")
		if err != nil {
			return nil
		}
		file = filepath.Join(local.Dir, local.Dockerfile)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	ins, _ := dockerfile.Parse(f)
	return ins
}

// contextNames are "default" and the contexts of docker's store, each
// with its docker host as the description.
func contextNames(configDir string) []string {
	names := []string{dockercontext.DefaultContextName + "\tthe daemon of -H, DOCKER_HOST or the default socket"}
	metas, _ := filepath.Glob(filepath.Join(configDir, "contexts", "meta", "*", "meta.json"))
	for _, p := range metas {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var m struct {
			Name      string
			Endpoints map[string]struct{ Host string }
		}
		if json.Unmarshal(b, &m) != nil || m.Name == "" {
			continue
		}
		names = append(names, strings.TrimSuffix(m.Name+"\t"+m.Endpoints["docker"].Host, "\t"))
	}
	return names
}

// builderNames are the builder instances of buildx's store.
func builderNames(configDir string) []string {
	ents, _ := os.ReadDir(filepath.Join(configDir, "buildx", "instances"))
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}
