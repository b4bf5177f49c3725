package build

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStepAddLog(t *testing.T) {
	var s Step
	for i := 1; i <= LogLines+3; i++ {
		s.AddLog(fmt.Sprint("line ", i))
	}
	s.AddLog(strings.Repeat("x", 300))
	var want []string
	for i := 5; i <= LogLines+3; i++ {
		want = append(want, fmt.Sprint("line ", i))
	}
	want = append(want, strings.Repeat("x", 240))
	if diff := cmp.Diff(want, s.Log); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}
