//go:build linux

package memtrim

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFile is the process's resident file-backed memory, in kB.
func rssFile(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestBinaryDropsResidentCode: the test binary's code and read-only data
// leave the resident set, and the process goes on running (its pages come
// back from the page cache as they are used).
func TestBinaryDropsResidentCode(t *testing.T) {
	before := rssFile(t)
	dropped := Binary()
	after := rssFile(t)
	t.Logf("RssFile %d kB → %d kB; %d bytes of mappings dropped", before, after, dropped)
	if dropped == 0 {
		t.Fatal("nothing dropped: the executable's read-only mappings were not found")
	}
	if after >= before {
		t.Errorf("RssFile did not shrink: %d kB before, %d kB after", before, after)
	}
	// Code runs again from the dropped pages.
	if s := strconv.Itoa(12345); s != "12345" {
		t.Fatalf("strconv.Itoa = %q", s)
	}
}
