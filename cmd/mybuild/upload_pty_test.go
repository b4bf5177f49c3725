package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// TestTTYUpload runs the binary in a tmux pane against a fake daemon that
// reads the context slowly and holds it after 1 MiB. Mid-upload the meter
// is one line, redrawn in place, with the total (4.197MB: the tar of a
// 4 MiB file and the Dockerfile), the share done, the rate and the time
// left; in a pane 40 columns wide, too narrow for the line, the numbers
// alone in at most 39 columns. At the end one "Sending build context" line
// is left, the final one.
func TestTTYUpload(t *testing.T) {
	tmuxPath, err := exec.LookPath("tmux")
	if err != nil {
		skipUnlessCI(t, "tmux is not installed: this test runs mybuild in a tmux pane (apt-get install tmux)")
	}
	bin := mybuildBinary(t)
	for _, tc := range []struct {
		width int
		meter string
	}{
		{40, `^[0-9.]+[kMG]?B/4\.197MB +\d+% [0-9.]+[kMG]?B/s \d+s left$`},
		{80, `^Sending build context to Docker daemon +[0-9.]+[kMG]?B/4\.197MB +\d+% [0-9.]+[kMG]?B/s \d+s left$`},
	} {
		t.Run(fmt.Sprintf("%d columns", tc.width), func(t *testing.T) { testTTYUpload(t, tmuxPath, bin, tc.width, regexp.MustCompile(tc.meter)) })
	}
}

func testTTYUpload(t *testing.T, tmuxPath, bin string, width int, meter *regexp.Regexp) {
	up := newSlowUpload(enginetest.New(), 1<<20)
	dir := shortTempDir(t)
	sock := serveUnix(t, up, filepath.Join(dir, "d.sock"))
	ctxDir := t.TempDir()
	for name, size := range map[string]int{"Dockerfile": 0, "big": 4 << 20} {
		content := make([]byte, size)
		if name == "Dockerfile" {
			content = []byte("FROM scratch\nLABEL a=b\n")
		}
		if err := os.WriteFile(filepath.Join(ctxDir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tm := startPane(t, tmuxPath, dir, width, 12, sock, bin, ctxDir)

	select {
	case <-up.reached:
	case <-time.After(15 * time.Second):
		t.Fatalf("the daemon did not read 1 MiB of the context within 15s; screen:\n%s", strings.Join(tm.capture(false), "\n"))
	}
	screen := tm.waitScreen(10*time.Second, "the live upload meter", func(lines []string) bool {
		return matchCount(lines, meter) == 1
	})
	t.Logf("mid-upload screen:\n%s", strings.Join(screen, "\n"))
	if n := matchCount(screen, regexp.MustCompile(`B/s`)); n != 1 {
		t.Errorf("mid-upload: %d lines show a rate, want the meter's one", n)
	}
	for _, l := range screen {
		if len(l) > width-1 {
			t.Errorf("mid-upload: a line of %d columns: %q", len(l), l)
		}
	}
	up.release()

	if status := tm.waitExit(15 * time.Second); status != "0" {
		t.Errorf("mybuild exited with status %s, want 0", status)
	}
	final := tm.capture(true)
	t.Logf("final screen and scrollback:\n%s", strings.Join(final, "\n"))
	// The final line has a duration and a rate only for an upload of a
	// second or more; a live line left behind has a rate either way.
	sending := 0
	for _, l := range final {
		switch {
		case strings.HasPrefix(l, "Sending build context to Docker daemon "):
			sending++
		case strings.Contains(l, "B/s") || strings.Contains(l, "/4.197MB"):
			t.Errorf("end: a meter line is left behind: %q", l)
		}
	}
	if sending != 1 {
		t.Errorf("end: %d upload lines, want the final one", sending)
	}
	if n := matchCount(final, regexp.MustCompile(`^Built in [0-9.]+s$`)); n != 1 {
		t.Errorf("end: %d lines give the build's time, want 1", n)
	}
}

// slowUpload serves the fake daemon, reading a /build body 64 KiB every
// 20 ms and holding it after hold bytes at its gate.
type slowUpload struct {
	*gate
	d    *enginetest.Daemon
	hold int64
}

func newSlowUpload(d *enginetest.Daemon, hold int64) *slowUpload {
	return &slowUpload{gate: newGate(), d: d, hold: hold}
}

func (s *slowUpload) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/build") {
		r.Body = &slowBody{ReadCloser: r.Body, s: s, r: r}
	}
	s.d.ServeHTTP(w, r)
}

type slowBody struct {
	io.ReadCloser
	s *slowUpload
	r *http.Request
	n int64
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.n >= b.s.hold {
		if err := b.s.wait(b.r.Context()); err != nil {
			return 0, err
		}
	} else {
		time.Sleep(20 * time.Millisecond)
	}
	n, err := b.ReadCloser.Read(p[:min(len(p), 64<<10)])
	b.n += int64(n)
	return n, err
}
