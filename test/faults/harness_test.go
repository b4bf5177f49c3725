//go:build linux

package faults

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mybuild/mybuild/internal/testbed"
)

// client is one of the two programs under a fault.
type client struct {
	name string // "buildx" or "mybuild"
	argv []string
}

func clients() []client {
	return []client{
		{name: "buildx", argv: []string{dockerPath, "build"}},
		{name: "mybuild", argv: []string{bed.mybuild}},
	}
}

// outcome is what a client did under a fault.
type outcome struct {
	code int
	secs float64
	// hung: it had not exited when the test gave up on it (killed).
	hung    bool
	lastErr string
	// left is what it left behind: processes on the machine, files.
	left           []string
	stdout, stderr string
}

func (o outcome) String() string {
	if o.hung {
		return fmt.Sprintf("hung, killed after %.0f s", o.secs)
	}
	s := fmt.Sprintf("exit %d in %.1f s", o.code, o.secs)
	if len(o.left) > 0 {
		s += "; left " + strings.Join(o.left, ", ")
	}
	return s
}

// hangLimit is how long a client may take to exit after a fault before
// the test kills it and records it as hung.
const hangLimit = 20 * time.Second

// proc is a running client.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr testbed.SyncBuffer
	done           chan struct{}
	err            error
	signalled      time.Time // when the fault struck (the clock of secs)
}

// start runs c with args in dir, in its own process group (a terminal's
// Ctrl-C reaches docker and its buildx plugin alike).
func (c client) start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(c.argv[0], append(c.argv[1:], args...)...)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.signalled = time.Now()
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// kill ends the client's process group if it still runs.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitFor waits until the client's stderr holds s.
func (p *proc) waitFor(t *testing.T, s string, limit time.Duration) {
	t.Helper()
	for end := time.Now().Add(limit); !strings.Contains(p.stderr.String(), s); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("%s exited before %q:\n%s", p.cmd.Path, s, p.stderr.String())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("%q not seen within %s:\n%s", s, limit, p.stderr.String())
		}
	}
}

// strike marks the moment of the fault: secs counts from it.
func (p *proc) strike() { p.signalled = time.Now() }

// signal sends sig to the client's process group.
func (p *proc) signal(sig syscall.Signal) { _ = syscall.Kill(-p.cmd.Process.Pid, sig) }

// wait waits up to limit for the client to exit, then kills it as hung.
func (p *proc) wait(limit time.Duration) outcome {
	var o outcome
	select {
	case <-p.done:
	case <-time.After(limit):
		o.hung = true
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	o.secs = time.Since(p.signalled).Seconds()
	o.code = 0
	if ee, ok := p.err.(*exec.ExitError); ok {
		o.code = ee.ExitCode()
	}
	o.stdout, o.stderr = p.stdout.String(), p.stderr.String()
	o.lastErr = lastErrorLine(o.stderr)
	return o
}

// lastErrorLine is the last line of stderr that says ERROR (or else the
// last line).
func lastErrorLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "ERROR") || strings.Contains(strings.ToLower(lines[i]), "error:") {
			return strings.TrimSpace(lines[i])
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// marker is a number unique to one run: a RUN's process is found by it.
func marker() string {
	return strconv.FormatInt(time.Now().UnixNano()%1e9+1e9, 10)[1:]
}

// running lists the machine's processes whose command line holds s.
func running(s string) []string {
	out, _ := exec.Command("pgrep", "-f", s).Output()
	return strings.Fields(string(out))
}

// goneWithin waits up to limit for every process holding s to end and
// returns what is left ("process PID" each), killing it then: the test
// cleans up what its fault left.
func goneWithin(s string, limit time.Duration) []string {
	for end := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		pids := running(s)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(end) {
			var left []string
			for _, pid := range pids {
				left = append(left, "process "+pid)
				if n, err := strconv.Atoi(pid); err == nil {
					_ = syscall.Kill(n, syscall.SIGKILL)
				}
			}
			return left
		}
	}
}

// writeContext writes files into a new directory and returns it; a
// "busybox" entry is the machine's static busybox.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := testDir(t, "ctx")
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if name == "busybox" {
			b, err := os.ReadFile("/bin/busybox")
			if err != nil {
				t.Fatal(err)
			}
			content, mode = string(b), 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// scratchRun is a Dockerfile for a bare node (no image to pull): busybox
// from the context, then cmd under its shell.
func scratchRun(cmd string) string {
	return "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", " + strconv.Quote(cmd) + "]\n"
}

// record is the suite's table: row → client → outcome, printed at the end.
var record = struct {
	sync.Mutex
	rows map[string]map[string]outcome
}{rows: map[string]map[string]outcome{}}

func note(row string, c client, o outcome) {
	record.Lock()
	defer record.Unlock()
	if record.rows[row] == nil {
		record.rows[row] = map[string]outcome{}
	}
	record.rows[row][c.name] = o
}

func printRecord(w io.Writer) {
	record.Lock()
	defer record.Unlock()
	if len(record.rows) == 0 {
		return
	}
	var names []string
	for n := range record.rows {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "| row | buildx | mybuild |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, n := range names {
		r := record.rows[n]
		cell := func(name string) string {
			o, ok := r[name]
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%s: %s", o, strings.ReplaceAll(o.lastErr, "|", "/"))
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", n, cell("buildx"), cell("mybuild"))
	}
}

// want is what a row asks of mybuild under its fault.
type want struct {
	code   int     // its exit code
	within float64 // at most these seconds from the fault to its exit
	// clean: nothing left behind (outcome.left empty).
	clean bool
}

// eachClient runs fault with both clients at once, notes their outcomes
// under row, holds mybuild's to w and to naming each of names (what fault
// returns) in its last error line, and returns both outcomes.
func eachClient(t *testing.T, row string, w want, fault func(t *testing.T, c client) (o outcome, names []string)) map[string]outcome {
	t.Helper()
	var mu sync.Mutex
	got := map[string]outcome{}
	t.Run("clients", func(t *testing.T) {
		for _, c := range clients() {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				o, names := fault(t, c)
				note(row, c, o)
				mu.Lock()
				got[c.name] = o
				mu.Unlock()
				t.Logf("%s: %s\n%s", c.name, o, o.stderr)
				if c.name == "mybuild" {
					w.check(t, o, names)
				}
			})
		}
	})
	return got
}

func (w want) check(t *testing.T, o outcome, names []string) {
	t.Helper()
	switch {
	case o.hung || o.secs > w.within:
		t.Errorf("mybuild: %s, want exit %d within %.0f s", o, w.code, w.within)
	case o.code != w.code:
		t.Errorf("mybuild exits %d, want %d", o.code, w.code)
	case w.clean && len(o.left) > 0:
		t.Errorf("mybuild left %v", o.left)
	}
	for _, s := range names {
		if !strings.Contains(o.lastErr, s) {
			t.Errorf("mybuild's last error line does not name %q: %q", s, o.lastErr)
		}
	}
}

// testDir is a new directory under the bed's, named from prefix: -count
// runs a test again in the same bed.
func testDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp(bed.dir, prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// startTTY is start with a terminal: stdin, stdout and stderr are one
// pseudo-terminal, whose output is read into stderr.
func (c client) startTTY(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(c.argv[0], append(c.argv[1:], args...)...)
	p.cmd.Dir, p.cmd.Env = dir, append(env, "TERM=xterm")
	tty, err := pty.StartWithAttrs(p.cmd, &pty.Winsize{Rows: 40, Cols: 120}, &syscall.SysProcAttr{Setsid: true, Setctty: true})
	if err != nil {
		t.Fatal(err)
	}
	p.signalled = time.Now()
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&p.stderr, tty); close(copied) }()
	go func() {
		p.err = p.cmd.Wait()
		// The copy ends when the last holder of the terminal exits.
		select {
		case <-copied:
		case <-time.After(5 * time.Second):
		}
		tty.Close()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}
