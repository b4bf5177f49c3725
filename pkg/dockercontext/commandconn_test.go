package dockercontext

import (
	"fmt"
	"strings"
	"testing"
)

// The captured stderr keeps its last stderrKeep bytes from a line start,
// however the command's output was split into writes.
func TestStderrBufferKeepsTail(t *testing.T) {
	var all strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&all, "line %d\n", i)
	}
	text := all.String() // 8,890 bytes
	tests := []struct {
		name  string
		split int // bytes per Write; 0 is one Write
	}{
		{"one write", 0},
		{"line by line", -1},
		{"4 KiB chunks", 4096},
		{"odd chunks", 977},
		{"byte by byte", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c commandConn
			w := (*stderrBuffer)(&c)
			switch tt.split {
			case 0:
				w.Write([]byte(text))
			case -1:
				for _, l := range strings.SplitAfter(text, "\n") {
					w.Write([]byte(l))
				}
			default:
				for s := text; s != ""; {
					n := min(tt.split, len(s))
					w.Write([]byte(s[:n]))
					s = s[n:]
				}
			}
			got := c.stderrString()
			if len(got) > stderrKeep || len(got) < stderrKeep-len("line 999\n") {
				t.Errorf("kept %d bytes, want about %d", len(got), stderrKeep)
			}
			if !strings.HasSuffix(text, got) || !strings.HasPrefix(got, "line ") {
				t.Errorf("kept %q…, want the tail of the output from a line start", got[:min(20, len(got))])
			}
		})
	}
	t.Run("a line longer than the limit", func(t *testing.T) {
		var c commandConn
		long := strings.Repeat("x", 3*stderrKeep) + "\n"
		(*stderrBuffer)(&c).Write([]byte(long))
		if got := c.stderrString(); got != long[len(long)-stderrKeep:] {
			t.Errorf("kept %d bytes, want the last %d", len(got), stderrKeep)
		}
	})
}
