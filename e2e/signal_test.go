package e2e

import (
	"bufio"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runningContainers is `docker ps -q`: the short IDs of running containers.
func runningContainers(t *testing.T) []string {
	t.Helper()
	return strings.Fields(docker(t, "ps", "-q"))
}

// TestSignalDuringRun: Ctrl-C while a RUN step runs on the real daemon
// stops mybuild within 2 s with exit 130 and nothing printed, and the
// daemon cancels the step: its container stops running within 10 s
// (row 6 of issue #6's fault matrix).
func TestSignalDuringRun(t *testing.T) {
	needDaemon(t)
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN sleep 60")})
	before := runningContainers(t)

	cmd := exec.Command(mybuildBin, "-H", host, ".")
	cmd.Dir, cmd.Env = dir, baseEnv()
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read stdout line by line, passing on each line; done closes at EOF.
	lines := make(chan string, 100)
	done := make(chan struct{})
	var stdout strings.Builder
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdoutPipe)
		for sc.Scan() {
			stdout.WriteString(sc.Text() + "\n")
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdoutPipe)
	}()
	exited := make(chan error, 1)
	go func() {
		<-done
		exited <- cmd.Wait()
	}()
	defer func() { _ = cmd.Process.Kill() }()

	// The legacy builder prints "Running in" for the LABEL step too: the
	// RUN step's container is the one named after "RUN sleep 60".
	var container string
	runStep := false
	for wait := time.After(2 * time.Minute); container == ""; {
		select {
		case line := <-lines:
			runStep = runStep || strings.HasSuffix(line, ": RUN sleep 60")
			if m := runningIn.FindStringSubmatch(line); m != nil && runStep {
				container = m[1]
			}
		case err := <-exited:
			t.Fatalf("mybuild exited (%v) before the RUN step started; stderr:\n%s", err, stderr.String())
		case <-wait:
			t.Fatalf("the RUN step did not start within 2 minutes; stderr:\n%s", stderr.String())
		}
	}
	// From here on, the container is removed at the end even if the daemon
	// leaves it behind.
	defer func() { registerOutput(t, result{Stdout: "Running in " + container}) }()
	// "Running in" comes when the container is created: wait until it runs.
	for deadline := time.Now().Add(30 * time.Second); !slices.Contains(runningContainers(t), container); {
		if time.Now().After(deadline) {
			t.Fatalf("container %s of the RUN step is not running after 30 s", container)
		}
		time.Sleep(100 * time.Millisecond)
	}

	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	select {
	case waitErr = <-exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("mybuild still runs 15 s after SIGINT")
	}
	elapsed := time.Since(sent)
	// The intermediate image of the LABEL step is removed at the end.
	registerOutput(t, result{Stdout: stdout.String()})
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		t.Fatal(waitErr)
	}
	t.Logf("exit %d %s after SIGINT", cmd.ProcessState.ExitCode(), elapsed.Round(time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	if elapsed > 2*time.Second {
		t.Errorf("exited %s after SIGINT, want within 2 s", elapsed)
	}
	if stderr.String() != "" {
		t.Errorf("stderr = %q, want nothing", stderr.String())
	}
	if out := stdout.String(); !strings.HasSuffix(out, "Running in "+container+"\n") {
		t.Errorf("stdout goes on after the RUN step started:\n%s", out)
	}

	// The daemon is shared: other builds may start containers meanwhile, so
	// the step's own container is what must stop; the count is logged.
	var running []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		running = runningContainers(t)
		if !slices.Contains(running, container) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("running containers: %d before the build, %d %s after SIGINT", len(before), len(running), time.Since(sent).Round(time.Millisecond))
	if slices.Contains(running, container) {
		t.Errorf("the RUN step's container %s still runs 10 s after SIGINT", container)
	}
}
