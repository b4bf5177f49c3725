//go:build linux

package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loadBuild is one build of the load row: its context holds id, its RUN
// puts id in a cache mount that every build of the row shares and copies
// it and the context's id.txt to its local output.
type loadBuild struct {
	id, out string
	p       *proc
	rss     func() float64
}

func loadContext(t *testing.T, cacheID, id string) string {
	run := "id=$(/bin/busybox cat /id.txt); /bin/busybox mkdir -p /out; echo $id >/cache/$id; /bin/busybox sleep 1; " +
		"/bin/busybox cp /cache/$id /out/cache.txt; /bin/busybox cp /id.txt /out/ctx.txt"
	return writeContext(t, map[string]string{
		"busybox": "",
		"id.txt":  id + "\n",
		"Dockerfile": "FROM scratch AS b\nCOPY busybox /bin/busybox\nCOPY id.txt /id.txt\n" +
			"RUN --mount=type=cache,target=/cache,id=" + cacheID + ",sharing=shared [\"/bin/busybox\", \"sh\", \"-c\", " + strconv.Quote(run) + "]\n" +
			"FROM scratch\nCOPY --from=b /out/ /\n",
	})
}

// watchRSS samples the peak resident set (VmHWM, in MiB) of p and its
// children (buildx's plugin under docker) every 10 ms until p exits, and
// returns a func giving it after. Rusage's Maxrss would not do: exec
// keeps in it the RSS of the test binary, whose memory the child shared
// until then.
func watchRSS(p *proc) func() float64 {
	var peak float64
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		pid := strconv.Itoa(p.cmd.Process.Pid)
		for {
			pids := []string{pid}
			if b, err := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children"); err == nil {
				pids = append(pids, strings.Fields(string(b))...)
			}
			for _, q := range pids {
				peak = max(peak, vmHWM(q))
			}
			select {
			case <-p.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() float64 { <-stopped; return peak }
}

func vmHWM(pid string) float64 {
	b, _ := os.ReadFile("/proc/" + pid + "/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// runLoad runs n builds of c at once with args (the builder), after one
// alone, and returns the single build's peak RSS, the batch's outcomes
// and what went wrong: a build that failed or whose output is not its own.
func runLoad(t *testing.T, c client, n int, env []string, args ...string) (single float64, batch []outcome, peaks []float64, wrong []string) {
	cacheID := "faults-load-" + marker()
	start := func(i int) loadBuild {
		b := loadBuild{id: fmt.Sprintf("%s-%s-%d", cacheID, c.name, i)}
		b.out = filepath.Join(t.TempDir(), "out")
		a := append(append([]string{}, args...), "--network", "none", "--progress", "plain", "-o", "type=local,dest="+b.out, ".")
		b.p = c.start(t, loadContext(t, cacheID, b.id), env, a...)
		b.rss = watchRSS(b.p)
		return b
	}
	check := func(b loadBuild) (outcome, float64) {
		o := b.p.wait(120 * time.Second)
		if o.hung || o.code != 0 {
			wrong = append(wrong, fmt.Sprintf("%s: %s: %s", b.id, o, o.lastErr))
			return o, 0
		}
		for _, f := range []string{"ctx.txt", "cache.txt"} {
			got, err := os.ReadFile(filepath.Join(b.out, f))
			if strings.TrimSpace(string(got)) != b.id {
				wrong = append(wrong, fmt.Sprintf("%s: %s holds %q (%v)", b.id, f, got, err))
			}
		}
		if left := filesUnder(b.out); len(left) != 2 {
			wrong = append(wrong, fmt.Sprintf("%s: output %v", b.id, left))
		}
		return o, b.rss()
	}
	_, single = check(start(0))
	var bs []loadBuild
	for i := 1; i <= n; i++ {
		bs = append(bs, start(i))
	}
	for _, b := range bs {
		o, rss := check(b)
		batch = append(batch, o)
		peaks = append(peaks, rss)
	}
	return single, batch, peaks, wrong
}

// TestLoad: row 11, 8 builds at once on Engine 29 and 8 on a remote node,
// tiny contexts of their own and one cache mount shared on each builder:
// all succeed, each output holds its own context's and cache file's id,
// and no mybuild's peak memory passes 1.5× its figure for a build alone.
func TestLoad(t *testing.T) {
	need(t, engine29)
	const n = 8
	eachClient(t, "11. load: 8 builds at once on Engine 29 and on a node", want{code: 0, within: 300}, func(t *testing.T, c client) (outcome, []string) {
		remoteBuilder(t, "load-"+c.name)
		began := time.Now()
		var all outcome
		var figures []string
		for _, target := range []struct {
			name string
			env  []string
			args []string
		}{
			{name: "Engine 29", env: bed.env("DOCKER_HOST=" + engine29)},
			{name: "node", env: bed.env(), args: []string{"--builder", "load-" + c.name}},
		} {
			single, batch, peaks, wrong := runLoad(t, c, n, target.env, target.args...)
			var secs, peak float64
			for i, o := range batch {
				secs = max(secs, o.secs)
				peak = max(peak, peaks[i])
			}
			figures = append(figures, fmt.Sprintf("%s: %d at once in %.1f s, peak RSS %.0f MiB (alone %.0f)", target.name, n, secs, peak, single))
			all.left = append(all.left, wrong...)
			if len(wrong) > 0 {
				all.code = 1
			}
			if c.name == "mybuild" && peak > 1.5*single {
				t.Errorf("%s: a build among %d at once peaks at %.0f MiB, one alone at %.0f", target.name, n, peak, single)
			}
		}
		all.secs = time.Since(began).Seconds()
		all.lastErr = strings.Join(figures, "; ")
		return all, nil
	})
}
