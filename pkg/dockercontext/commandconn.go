package dockercontext

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Timeouts of the command connection (docker's values).
const (
	// commandExitTimeout bounds the wait for the command's exit after its
	// stdout reached EOF.
	commandExitTimeout = 10 * time.Second
	// commandKillGrace is the time between SIGTERM and SIGKILL on Close.
	commandKillGrace = 3 * time.Second
	// commandWaitDelay bounds the wait for the stderr pipe once the command
	// has exited.
	commandWaitDelay = 2 * time.Second
	// stderrKeep bounds the captured stderr: only its last ~4 KiB are kept.
	stderrKeep = 4096
)

// NewCommandConn starts name with args and returns a net.Conn whose
// writes go to the command's stdin and reads come from its stdout, like
// docker's commandconn:
//
//   - the command runs in its own session (so an ssh ProxyCommand cannot
//     grab the terminal) and, on Linux, is killed when this process dies;
//   - its stderr is captured (the last ~4 KiB) and appears in the error a
//     Read or Write returns when the command exits unsuccessfully:
//     "command [ssh …] has exited with exit status 255, make sure the URL is
//     valid, and Docker 18.09 or later is installed on the remote host: stderr=…";
//     a successful exit gives io.EOF;
//   - Close closes both pipes, sends SIGTERM, then SIGKILL after 3 s, and
//     waits for the command to end;
//   - deadlines are accepted and ignored.
//
// ctx does not bound the life of the command (docker detaches it too).
func NewCommandConn(ctx context.Context, name string, args ...string) (net.Conn, error) {
	_ = ctx
	cmd := exec.Command(name, args...)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	setSysProcAttr(cmd.SysProcAttr)

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	c := &commandConn{
		cmd:    cmd,
		stdin:  inW,
		stdout: outR,
		done:   make(chan struct{}),
	}
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = (*stderrBuffer)(c)
	// Unlike docker, do not wait forever for a stderr pipe that a leftover
	// grandchild (e.g. a ProxyCommand) keeps open after the command exited.
	cmd.WaitDelay = commandWaitDelay
	err = cmd.Start()
	// The child holds its own copies now.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	// Parent ends are *os.File values we own, so waiting right away is safe:
	// Wait never closes them and no buffered output is lost.
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

type commandConn struct {
	cmd     *exec.Cmd
	stdin   *os.File
	stdout  *os.File
	done    chan struct{} // closed when the command has exited
	waitErr error         // valid after done is closed

	stderrMu sync.Mutex
	stderr   bytes.Buffer

	closing      atomic.Bool
	stdinClosed  atomic.Bool
	stdoutClosed atomic.Bool
	killOnce     sync.Once
}

type stderrBuffer commandConn

// Write appends p and drops what lies before the last stderrKeep bytes,
// from a line start where there is one, so the tail is kept however the
// output was split into writes (docker resets its buffer between writes
// instead, and a single large write kept everything).
func (w *stderrBuffer) Write(p []byte) (int, error) {
	w.stderrMu.Lock()
	defer w.stderrMu.Unlock()
	w.stderr.Write(p)
	if excess := w.stderr.Len() - stderrKeep; excess > 0 {
		b := w.stderr.Bytes()
		if i := bytes.IndexByte(b[excess:], '\n'); i >= 0 && excess+i+1 < len(b) {
			excess += i + 1
		}
		w.stderr.Next(excess)
	}
	return len(p), nil
}

func (c *commandConn) stderrString() string {
	c.stderrMu.Lock()
	defer c.stderrMu.Unlock()
	return c.stderr.String()
}

// handleEOF turns an EOF into the command's exit error, as docker does.
func (c *commandConn) handleEOF(err error) error {
	if err != io.EOF {
		return err
	}
	select {
	case <-c.done:
	case <-time.After(commandExitTimeout):
		return fmt.Errorf("command %v did not exit after %v: stderr=%q", c.cmd.Args, err, c.stderrString())
	}
	if c.waitErr == nil {
		return err
	}
	return fmt.Errorf("command %v has exited with %v, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=%s", c.cmd.Args, c.waitErr, c.stderrString())
}

func (c *commandConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if c.closing.Load() {
		return n, err
	}
	return n, c.handleEOF(err)
}

func (c *commandConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if c.closing.Load() {
		return n, err
	}
	return n, c.handleEOF(err)
}

// kill ends the command: SIGTERM, then SIGKILL after the grace period, and
// waits for it.
func (c *commandConn) kill() {
	c.killOnce.Do(func() {
		select {
		case <-c.done:
			return
		default:
		}
		if runtime.GOOS == "windows" {
			_ = c.cmd.Process.Kill()
			<-c.done
			return
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(commandKillGrace):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}

func ignorableCloseError(err error) bool {
	return errors.Is(err, os.ErrClosed) || strings.Contains(err.Error(), os.ErrClosed.Error())
}

// CloseRead closes the command's stdout; once both directions are closed
// the command is killed.
func (c *commandConn) CloseRead() error {
	if err := c.stdout.Close(); err != nil && !ignorableCloseError(err) {
		return err
	}
	c.stdoutClosed.Store(true)
	if c.stdinClosed.Load() {
		c.kill()
	}
	return nil
}

// CloseWrite closes the command's stdin; once both directions are closed
// the command is killed.
func (c *commandConn) CloseWrite() error {
	if err := c.stdin.Close(); err != nil && !ignorableCloseError(err) {
		return err
	}
	c.stdinClosed.Store(true)
	if c.stdoutClosed.Load() {
		c.kill()
	}
	return nil
}

// Close unblocks pending Read and Write calls, kills the command and waits
// for it to end.
func (c *commandConn) Close() error {
	c.closing.Store(true)
	defer c.closing.Store(false)
	if err := c.CloseRead(); err != nil {
		return err
	}
	return c.CloseWrite()
}

type dummyAddr string

func (a dummyAddr) Network() string { return "dummy" }
func (a dummyAddr) String() string  { return string(a) }

func (c *commandConn) LocalAddr() net.Addr  { return dummyAddr("dummy-0") }
func (c *commandConn) RemoteAddr() net.Addr { return dummyAddr("dummy-1") }

func (c *commandConn) SetDeadline(time.Time) error      { return nil }
func (c *commandConn) SetReadDeadline(time.Time) error  { return nil }
func (c *commandConn) SetWriteDeadline(time.Time) error { return nil }
