package cli

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/iostreams"
)

// TestHelpListsEveryFlag: --help shows each visible flag exactly once,
// whatever annotations (completion hints, sections) it carries.
func TestHelpListsEveryFlag(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	cmd := NewRootCmd(&Factory{IO: io, Getenv: func(string) string { return "" }, LookupEnv: func(string) (string, bool) { return "", false }},
		func(*BuildOptions) error { return nil })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" || f.Name == "version" {
			return
		}
		re := regexp.MustCompile(`(?m)^\s+(-[a-zA-Z], )?--` + regexp.QuoteMeta(f.Name) + `[ =\[]`)
		if n := len(re.FindAllString(help, -1)); n != 1 {
			t.Errorf("--%s is listed %d times in --help, want once", f.Name, n)
		}
	})
	if t.Failed() {
		t.Logf("help:\n%s", help)
	}
}
