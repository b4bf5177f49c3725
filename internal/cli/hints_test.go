package cli

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func TestOneTypo(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"tga", "tag", true},  // swapped
		{"tg", "tag", true},   // dropped
		{"taag", "tag", true}, // added
		{"tog", "tag", true},  // changed
		{"Tag", "tag", true},  // case
		{"tag", "tag", false}, // the same
		{"gat", "tag", false}, // two changes
		{"secret", "target", false},
		{"", "t", true},
		{"pull", "pul", true},
		{"no-cahce", "no-cache", true},
	} {
		if got := oneTypo(tc.a, tc.b); got != tc.want {
			t.Errorf("oneTypo(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := oneTypo(tc.b, tc.a); got != tc.want {
			t.Errorf("oneTypo(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestFlagHint(t *testing.T) {
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	for _, n := range []string{"tag", "tls", "tlsverify", "pull", "hidden1"} {
		fl.Bool(n, false, "")
	}
	_ = fl.MarkHidden("hidden1")
	for _, tc := range []struct{ err, want string }{
		{"unknown flag: --tga", "did you mean --tag?"},
		{"unknown flag: --tl", "did you mean --tls?"},
		{"unknown flag: --tas", "did you mean --tag or --tls?"},
		{"unknown flag: --tls-verify", "did you mean --tlsverify?"},
		{"unknown flag: --hidden2", ""},
		{"unknown flag: --secret", ""},
		{"unknown shorthand flag: 'o' in -o", ""},
		{`invalid argument "x" for "--pull" flag`, ""},
	} {
		got := flagHint(fl, errors.New(tc.err))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("flagHint(%q) (-want +got):\n%s", tc.err, diff)
		}
	}
}
