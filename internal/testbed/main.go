package testbed

import (
	"fmt"
	"os"
	"testing"
)

// Main runs a suite's tests (its TestMain: os.Exit(testbed.Main(…))) with
// a temporary directory of its own and the Locks named held throughout.
// setup makes the bed in dir and returns what ends it; its error is the
// suite's to keep, for each test to report (see Unavailable): a bed that
// could not be set up fails every test under MYBUILD_E2E=1.
func Main(m *testing.M, prefix string, locks []string, setup func(dir string) (stop func(), err error), setupErr *error) int {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, name := range locks {
		release, err := Lock(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer release()
	}
	stop, err := setup(dir)
	if stop != nil {
		defer stop()
	}
	*setupErr = err
	return m.Run()
}
