package buildkit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGCPercent(t *testing.T) {
	tests := []struct {
		name string
		prev int
		want int
	}{
		{"the runtime's default", 100, buildKitGCPercent},
		{"GOGC=200", 200, 200},
		{"GOGC=off", -1, -1},
		{"GOGC=25", 25, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, gcPercent(tt.prev)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
