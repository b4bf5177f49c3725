//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// TestManyFilesPeakRSS sends a context of 100,000 small files to a fake
// daemon and checks the peak resident memory of the mybuild process: the
// walk streams, so memory must not grow with the number of files.
func TestManyFilesPeakRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: creates 100,000 files")
	}
	// One wide directory (its listing is held while it is walked) and
	// many ordinary ones: 100,000 files in all.
	const (
		wide, dirs, perDir = 50000, 50, 1000
		files              = wide + dirs*perDir
		limit              = 64 << 20
	)
	bin := mybuildBinary(t)
	ctxDir := fastTempDir(t)
	start := time.Now()
	content := []byte("sixteen bytes..\n")
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for d := range dirs + 1 {
		dir, n := filepath.Join(ctxDir, fmt.Sprintf("d%03d", d)), perDir
		if d == dirs {
			dir, n = filepath.Join(ctxDir, "wide"), wide
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range n {
			// Mostly empty files: on ext4 mounted with discard, removing
			// 100,000 files with a data block each takes over a minute.
			// They are walked and sent all the same (a header each).
			c := content[:0]
			if f%50 == 0 {
				c = content
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%05d.txt", f)), c, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("created %d files in %v", files, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		start := time.Now()
		removeFlat(t, ctxDir)
		t.Logf("removed them in %v", time.Since(start).Round(time.Millisecond))
	})

	d := enginetest.New()
	sock := d.ListenUnix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-H", "unix://"+sock, "-q", ctxDir)
	cmd.Env = []string{"HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	floor := resetPeakRSS(t)
	start = time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("mybuild: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	d.Wait()
	reqs := d.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the daemon received %d builds, want 1", len(reqs))
	}
	if got, want := len(reqs[0].Entries), 1+(dirs+1)+files; got != want || reqs[0].TarError != "" {
		t.Fatalf("the daemon received %d entries (tar error %q), want %d", got, reqs[0].TarError, want)
	}
	rss := peakRSS(t, cmd, floor, limit)
	t.Logf("mybuild sent %d entries (%d bytes of tar) in %v, peak RSS %.1f MB", len(reqs[0].Entries), reqs[0].BodySize, elapsed.Round(time.Millisecond), float64(rss)/1e6)
}

// resetPeakRSS prepares measuring a child's peak RSS with Maxrss. Go
// starts a child with vfork, sharing this process's memory until exec,
// and the kernel counts the old memory's high-water mark into the child's
// Maxrss at exec: a test process that once held 230 MB makes every child
// "use" 230 MB. So this process returns what it can to the system and
// resets its own high-water mark (/proc/self/clear_refs, "5"); what it
// still holds is returned as the floor of the measurement.
func resetPeakRSS(t *testing.T) (floor int64) {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("cannot reset this process's peak RSS, a child's Maxrss would include it: %v", err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM: %v", err)
			}
			return n << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// peakRSS returns the peak RSS of cmd's finished process and fails the
// test when it reaches limit; floor is resetPeakRSS's.
func peakRSS(t *testing.T, cmd *exec.Cmd, floor, limit int64) int64 {
	t.Helper()
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage for the mybuild process")
	}
	rss := ru.Maxrss << 10 // kilobytes on Linux
	if rss >= limit {
		if floor >= limit {
			t.Fatalf("cannot measure: this test process still held %d bytes when it started mybuild", floor)
		}
		t.Errorf("peak RSS of mybuild = %d bytes, want under %d", rss, limit)
	}
	if rss <= floor {
		t.Logf("mybuild's peak RSS is at most %.1f MB, what this test process held when it started it", float64(floor)/1e6)
	}
	return rss
}

// fastTempDir is a temporary directory on /dev/shm when that is a tmpfs
// with room to spare: creating 100,000 files there takes about a second,
// against half a minute on this machine's busy ext4.
func fastTempDir(t *testing.T) string {
	t.Helper()
	const tmpfsMagic = 0x01021994
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic && int64(st.Bavail)*st.Bsize > 1<<30 {
		if dir, err := os.MkdirTemp("/dev/shm", "mybuild-test"); err == nil {
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			return dir
		}
	}
	t.Log("/dev/shm is not a tmpfs with 1 GiB free: the files go to the default temporary directory")
	return t.TempDir()
}

// removeFlat empties dir, whose subdirectories hold only files, listing
// each directory once: os.RemoveAll lists a directory again after each
// 1,024 names, which takes minutes for a directory of 50,000 files on ext4.
func removeFlat(t *testing.T, dir string) {
	t.Helper()
	subs, err := os.ReadDir(dir)
	if err != nil {
		t.Error(err)
		return
	}
	for _, s := range subs {
		p := filepath.Join(dir, s.Name())
		if s.IsDir() {
			f, err := os.Open(p)
			if err != nil {
				t.Error(err)
				continue
			}
			names, err := f.Readdirnames(-1)
			f.Close()
			if err != nil {
				t.Error(err)
			}
			for _, n := range names {
				if err := os.Remove(filepath.Join(p, n)); err != nil {
					t.Error(err)
				}
			}
		}
		if err := os.Remove(p); err != nil {
			t.Error(err)
		}
	}
}
