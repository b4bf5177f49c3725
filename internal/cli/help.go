package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// setHelp renders help the way docker build's reads: the usage line, the
// build options, then mybuild's additions and docker's global options.
func setHelp(cmd *cobra.Command, terminalWidth int) {
	width := terminalWidth
	if width <= 0 {
		width = 80 // docker's width off a terminal
	}
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		writeHelp(c.OutOrStdout(), c, width)
	})
}

func writeHelp(w io.Writer, c *cobra.Command, width int) {
	fmt.Fprintf(w, "Usage:  %s\n\n%s\n\n", useLine, c.Short)
	section := func(title, annotation string, want bool) {
		fs := pflag.NewFlagSet(title, pflag.ContinueOnError)
		fs.SortFlags = true
		c.Flags().VisitAll(func(f *pflag.Flag) {
			_, has := f.Annotations[annotation]
			if has == want && f.Name != "help" && f.Name != "version" {
				fs.AddFlag(f)
			}
		})
		if fs.HasFlags() {
			fmt.Fprintf(w, "%s:\n%s\n", title, fs.FlagUsagesWrapped(width-1))
		}
	}
	// docker build's own flags: neither mybuild's nor global (other
	// annotations, such as completion hints on -f, do not count).
	plain := pflag.NewFlagSet("build", pflag.ContinueOnError)
	c.Flags().VisitAll(func(f *pflag.Flag) {
		_, ours := f.Annotations["mybuild"]
		_, global := f.Annotations["global"]
		if !ours && !global && f.Name != "help" && f.Name != "version" {
			plain.AddFlag(f)
		}
	})
	fmt.Fprintf(w, "Options:\n%s\n", plain.FlagUsagesWrapped(width-1))
	section("mybuild options (not in docker build)", "mybuild", true)
	section("Global options (docker's; accepted anywhere on the line)", "global", true)
	writeEnvironment(w)
	if note := c.Annotations["help-note"]; note != "" {
		fmt.Fprintf(w, "\n%s", note)
	}
	fmt.Fprintf(w, "\nRun '%s --version' for the version.\n", commandName)
}
