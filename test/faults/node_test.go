//go:build linux

package faults

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

// remoteBuilder starts a buildkitd of the test's own and makes it the
// remote builder name, with buildx's `docker buildx create`.
func remoteBuilder(t *testing.T, name string) *testbed.Node {
	t.Helper()
	node, err := testbed.StartBuildkitd(filepath.Join(bed.dir, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = node.Signal(syscall.SIGCONT)
		node.Stop()
	})
	cmd := exec.Command(dockerPath, "buildx", "create", "--name", name, "--driver", "remote", node.TCP)
	cmd.Env = bed.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker buildx create: %v\n%s", err, out)
	}
	return node
}

// runOnNode starts c on a new node of its own with a RUN that says it
// started and then sleeps silently, and returns the client once the RUN
// runs, the node and the sleep's command line.
func runOnNode(t *testing.T, c client, row string, env ...string) (*proc, *testbed.Node, string) {
	m := marker()
	name := row + "-" + c.name
	node := remoteBuilder(t, name)
	sleep := "/bin/busybox sleep 1" + m
	dir := writeContext(t, map[string]string{"busybox": "", "Dockerfile": scratchRun("echo started-" + m + "; exec " + sleep)})
	p := c.start(t, dir, bed.env(env...), "--builder", name, "--network", "none", "--progress", "plain", ".")
	p.waitFor(t, "started-"+m, 60*time.Second)
	time.Sleep(300 * time.Millisecond)
	return p, node, sleep
}

// TestNodeKilled: row 1, the remote node SIGKILLed while a RUN runs. What
// is left is the node's own orphan (its runc), recorded and cleaned.
func TestNodeKilled(t *testing.T) {
	need(t)
	eachClient(t, "1. node SIGKILLed during a RUN", want{code: 1, within: 10}, func(t *testing.T, c client) (outcome, []string) {
		p, node, sleep := runOnNode(t, c, "killed")
		_ = node.Signal(syscall.SIGKILL)
		p.strike()
		o := p.wait(hangLimit)
		o.left = goneWithin(sleep, 5*time.Second)
		return o, []string{"killed-" + c.name, strings.TrimPrefix(node.TCP, "tcp://")}
	})
}

// TestNodeFrozen: row 2, the remote node SIGSTOPped while a RUN runs.
// buildx waits on it forever; mybuild gives up after MYBUILD_TIMEOUT.
func TestNodeFrozen(t *testing.T) {
	need(t)
	eachClient(t, "2. node SIGSTOPped during a RUN", want{code: 1, within: 20}, func(t *testing.T, c client) (outcome, []string) {
		p, node, sleep := runOnNode(t, c, "frozen", "MYBUILD_TIMEOUT=3s")
		_ = node.Signal(syscall.SIGSTOP)
		p.strike()
		o := p.wait(hangLimit)
		_ = node.Signal(syscall.SIGCONT)
		node.Stop()
		o.left = goneWithin(sleep, 5*time.Second)
		return o, []string{"frozen-" + c.name, strings.TrimPrefix(node.TCP, "tcp://")}
	})
}

// TestSilentRun: a RUN that prints nothing for several times
// MYBUILD_TIMEOUT (and past gRPC's 10 s between pings, twice) still
// succeeds, on a remote node and on the docker driver. The two builds run
// at once.
func TestSilentRun(t *testing.T) {
	need(t, engine29)
	c := clients()[1]
	m := marker()
	node := remoteBuilder(t, "silent")
	remote := writeContext(t, map[string]string{"busybox": "", "Dockerfile": scratchRun("/bin/busybox sleep 25 # " + m)})
	docker := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN sleep 25 # " + m + "\n"})
	env := bed.env("MYBUILD_TIMEOUT=3s")
	procs := []*proc{
		c.start(t, remote, env, "--builder", "silent", "--network", "none", "--progress", "plain", "."),
		c.start(t, docker, env, "-H", engine29, "--network", "none", "--progress", "plain", "-o", "type=cacheonly", "."),
	}
	for i, p := range procs {
		o := p.wait(90 * time.Second)
		if o.hung || o.code != 0 {
			t.Errorf("%s: %s, want exit 0\n%s", []string{"remote node " + node.TCP, "docker driver"}[i], o, o.stderr)
		}
	}
}
