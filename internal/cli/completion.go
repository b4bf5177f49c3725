package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Shells lists the shells --completion writes scripts for.
var Shells = []string{"bash", "zsh", "fish", "powershell"}

// writeCompletion writes cmd's completion script for shell. It is a flag
// (--completion SHELL), not a subcommand, so that no word can shadow a
// context directory.
func writeCompletion(cmd *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		return cmd.GenBashCompletionV2(w, true)
	case "zsh":
		return cmd.GenZshCompletion(w)
	case "fish":
		return cmd.GenFishCompletion(w, true)
	case "powershell":
		return cmd.GenPowerShellCompletionWithDesc(w)
	}
	return flagError(fmt.Errorf("invalid argument %q for \"--completion\" flag: want one of bash, zsh, fish, powershell", shell))
}

// registerCompletions gives flag values sensible completions.
func registerCompletions(cmd *cobra.Command) {
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
	_ = cmd.RegisterFlagCompletionFunc("list-context", fixed("plain", "json"))
	_ = cmd.RegisterFlagCompletionFunc("completion", fixed(Shells...))
	_ = cmd.RegisterFlagCompletionFunc("log-level", fixed("debug", "info", "warn", "error", "fatal"))
	_ = cmd.RegisterFlagCompletionFunc("host", fixed("unix:///var/run/docker.sock", "tcp://", "ssh://"))
	if cmd.Flags().Lookup("progress") != nil {
		_ = cmd.RegisterFlagCompletionFunc("progress", fixed("auto", "tty", "plain", "quiet"))
	}
}
