package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

type client struct {
	Name string
	Path string
	Args func(addr, mode, ctxDir string) []string
}

// buildClient is a docker-build-like client: [prefix...] -H ADDR ... CONTEXT.
func buildClient(name, path string, prefix ...string) client {
	return client{Name: name, Path: path, Args: func(addr, mode, ctxDir string) []string {
		args := []string{"-H", "tcp://" + addr}
		args = append(args, prefix...)
		if mode == "compress" {
			args = append(args, "--compress")
		}
		return append(args, ctxDir)
	}}
}

// baselineClient is the floor: GNU tar (with --exclude patterns equivalent
// to the generated .dockerignore, less the .git/HEAD exception) piped to
// curl (and through gzip -6 for compress), no .dockerignore parsing, no
// ping.
func baselineClient() client {
	return client{Name: "tar|curl", Path: "/bin/sh", Args: func(addr, mode, ctxDir string) []string {
		gz := ""
		if mode == "compress" {
			gz = " | gzip -6"
		}
		script := "set -e; tar -cf - -C \"$1\" --exclude=./.git --exclude='./node_modules/*/test' --exclude='./node_modules/*.md' --exclude='*.log' ." + gz +
			" | curl -sS -f -o /dev/null -X POST -H 'Content-Type: application/x-tar' -T - \"http://$2/v1.41/build?dockerfile=Dockerfile\""
		return []string{"-c", script, "sh", ctxDir, addr}
	}}
}

type sample struct {
	Client    string        `json:"client"`
	Mode      string        `json:"mode"`
	Scale     float64       `json:"scale"`
	Run       int           `json:"run"` // 0 = untimed warm-up
	Wall      time.Duration `json:"wall_ns"`
	TTFBHdr   time.Duration `json:"ttfb_headers_ns"` // POST headers -> first body byte
	TTFBStart time.Duration `json:"ttfb_start_ns"`   // process start -> first body byte
	Startup   time.Duration `json:"startup_ns"`      // process start -> first /_ping
	Drain     time.Duration `json:"drain_ns"`        // first body byte -> last body byte
	Bytes     int64         `json:"bytes"`
	MaxRSSKB  int64         `json:"max_rss_kb"`
	UserCPU   time.Duration `json:"user_cpu_ns"`
	SysCPU    time.Duration `json:"sys_cpu_ns"`
	DaemonCPU time.Duration `json:"daemon_cpu_ns"` // ctxbench's own CPU (draining) during the run
	// Background is the CPU time the rest of the machine used during the
	// run, as a fraction of wall × CPUs: other processes competing for
	// the cores make a run slower than it would be on an idle machine.
	Background float64 `json:"background_cpu_fraction"`
}

type runner struct {
	self    string // ctxbench's own executable, for the spawner
	d       *daemon
	env     []string
	timeout time.Duration
	samples []sample
}

func (rn *runner) run(c client, mode string, scale float64, ctxDir string, runNo int, verify bool) (sample, record, error) {
	args := c.Args(rn.d.addr(), mode, ctxDir)
	var rec record
	sp := spawnRun(rn.self, c.Path, args, rn.env, rn.timeout, func() { rn.d.begin(verify) }, func() { rec = rn.d.end() })
	err, rep, wall := sp.err, sp.rep, sp.wall()

	s := sample{Client: c.Name, Mode: mode, Scale: scale, Run: runNo, Wall: wall, Bytes: rec.Bytes,
		MaxRSSKB: rep.MaxRSSKB, UserCPU: time.Duration(rep.UserNS), SysCPU: time.Duration(rep.SysNS)}
	var spawnerCPU time.Duration
	if ps := sp.ps; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			// The spawner's rusage includes its waited child's times.
			spawnerCPU = time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) - s.UserCPU - s.SysCPU
		}
	}
	s.DaemonCPU = sp.self
	if bg := sp.busy - s.UserCPU - s.SysCPU - s.DaemonCPU - spawnerCPU; bg > 0 && wall > 0 {
		s.Background = float64(bg) / (float64(wall) * float64(runtime.NumCPU()))
	}
	if !rec.FirstByteAt.IsZero() {
		s.TTFBHdr = rec.FirstByteAt.Sub(rec.HeadersAt)
		s.TTFBStart = rec.FirstByteAt.Sub(sp.start())
		s.Drain = rec.EndAt.Sub(rec.FirstByteAt)
	}
	if !rec.PingAt.IsZero() {
		s.Startup = rec.PingAt.Sub(sp.start())
	}

	fail := func(why string) (sample, record, error) {
		return s, rec, fmt.Errorf("%s %s (scale %g, run %d): %s\n$ %s %s\n%s", c.Name, mode, scale, runNo, why,
			c.Path, strings.Join(args, " "), tail(sp.out, 4000))
	}
	switch {
	case err != nil:
		return fail(err.Error())
	case rec.Err != "":
		return fail("daemon: draining the body: " + rec.Err)
	case rec.HeadersAt.IsZero():
		return fail("the daemon never saw POST /build")
	case rec.Bytes == 0:
		return fail("empty build context body")
	case mode == "compress" && !rec.Gzip:
		return fail("--compress given but the body is not gzip")
	case mode == "plain" && rec.Gzip:
		return fail("plain run but the body is gzip")
	}
	if len(rec.Unexpected) > 0 {
		logf("note: %s asked for unimplemented endpoints: %s", c.Name, strings.Join(rec.Unexpected, ", "))
	}
	if runNo > 0 {
		rn.samples = append(rn.samples, s)
	}
	return s, rec, nil
}

// spawnFloor is the peak RSS reported for a client that uses next to no
// memory (/bin/true): what the spawner itself adds.
func (rn *runner) spawnFloor() (int64, error) {
	cmd := exec.Command(rn.self, spawnArg, "/bin/true")
	cmd.Env = rn.env
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	w.Close()
	var rep spawnReport
	derr := json.NewDecoder(r).Decode(&rep)
	if err := cmd.Wait(); err != nil {
		return 0, err
	}
	return rep.MaxRSSKB, derr
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

type runFlags struct {
	scale    float64
	runs     int
	mybuild  string
	docker   string
	work     string
	modes    []string
	flat     bool
	compare  bool
	jsonOut  string
	timeout  time.Duration
	baseline bool
	report   bool // -modes report: the report scenario (report.go)
}

func cmdRun(args []string) error {
	fs := newFlagSet("run")
	var f runFlags
	fs.Float64Var(&f.scale, "scale", 1, "scale factor of the context (1 ≈ 243 MB / 27k files; 4 ≈ 1 GB)")
	fs.IntVar(&f.runs, "runs", 5, "timed runs per client per mode (alternating)")
	fs.StringVar(&f.mybuild, "mybuild", "", "mybuild binary (default: go build ./cmd/mybuild from the current directory into a temp dir)")
	fs.StringVar(&f.docker, "docker", "/usr/local/bin/docker", "docker CLI binary (run with DOCKER_BUILDKIT=0)")
	fs.StringVar(&f.work, "work", defaultWork(), "directory holding generated contexts")
	modes := fs.String("modes", "plain,compress", "comma-separated modes: plain, compress, report (what mybuild's build record and report cost)")
	fs.BoolVar(&f.flat, "flat", false, "also run mybuild at -scale and 4×-scale and check that its peak RSS is flat")
	fs.BoolVar(&f.compare, "compare", true, "run the docker vs mybuild comparison (-compare=false with -flat runs only the flatness check)")
	fs.StringVar(&f.jsonOut, "json", "", "also write every sample as JSON to this file")
	fs.BoolVar(&f.baseline, "baseline", true, "also time tar | curl (| gzip) as a reference floor (not a target)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "kill a client run after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for _, m := range strings.Split(*modes, ",") {
		m = strings.TrimSpace(m)
		switch m {
		case "plain", "compress":
			f.modes = append(f.modes, m)
		case "report":
			f.report = true
		case "":
		default:
			return fmt.Errorf("unknown mode %q (want plain, compress or report)", m)
		}
	}
	if (len(f.modes) == 0 && !f.report) || f.runs < 1 || f.scale <= 0 {
		return errors.New("need at least one mode, -runs ≥ 1 and -scale > 0")
	}
	if !f.compare && !f.flat {
		return errors.New("nothing to do: -compare=false without -flat")
	}

	tmp, err := os.MkdirTemp("", "ctxbench-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if f.mybuild == "" {
		logf("building mybuild into %s", tmp)
		bin, err := testbed.BuildMybuild(tmp)
		if err != nil {
			return fmt.Errorf("building mybuild (or pass -mybuild): %w", err)
		}
		f.mybuild = bin
	}
	for _, p := range []*string{&f.mybuild, &f.docker} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return err
		}
		*p = abs
	}

	// A fresh, empty HOME and DOCKER_CONFIG for both clients, and an
	// environment with nothing else that could steer them.
	home := filepath.Join(tmp, "home")
	cfg := filepath.Join(home, ".docker")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		return err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"DOCKER_CONFIG=" + cfg,
		"DOCKER_BUILDKIT=0",
		"TMPDIR=" + tmp,
		"LANG=C.UTF-8",
	}

	d, err := startDaemon("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer d.close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	rn := &runner{self: self, d: d, env: env, timeout: f.timeout}
	floor, err := rn.spawnFloor()
	if err != nil {
		return err
	}

	docker := buildClient("docker", f.docker, "build")
	mybuild := buildClient("mybuild", f.mybuild)
	var baseline *client
	if f.baseline {
		_, errTar := exec.LookPath("tar")
		_, errCurl := exec.LookPath("curl")
		_, errGzip := exec.LookPath("gzip")
		if errTar == nil && errCurl == nil && errGzip == nil {
			b := baselineClient()
			baseline = &b
		} else {
			logf("no tar, curl or gzip on PATH: skipping the tar|curl baseline")
		}
	}

	started := time.Now()
	out := os.Stdout
	fmt.Fprintf(out, "ctxbench: %d CPUs, %s/%s, %s; draining daemon on %s; load average %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), d.addr(), loadavg())
	fmt.Fprintf(out, "peak RSS is measured through a spawner process, whose own %.1f MB are a floor under every RSS figure\n", float64(floor)/1024)
	fmt.Fprintf(out, "docker:  %s (%s)\nmybuild: %s (%s)\n", f.docker, version(f.docker, env, "--version"), f.mybuild, version(f.mybuild, env, "--version"))

	var checks []check
	if f.compare && len(f.modes) > 0 {
		ctxDir, st, err := ensureContext(f.work, f.scale, logf)
		if err != nil {
			return err
		}
		c, err := rn.compare(out, f, ctxDir, st, docker, mybuild, baseline)
		if err != nil {
			return err
		}
		checks = append(checks, c...)
	}
	if f.report {
		ctxDir, st, err := ensureContext(f.work, f.scale, logf)
		if err != nil {
			return err
		}
		c, err := rn.reportCost(out, f, ctxDir, st.Files, f.mybuild)
		if err != nil {
			return err
		}
		checks = append(checks, c...)
	}
	if f.flat {
		c, err := rn.flatness(out, f, mybuild)
		if err != nil {
			return err
		}
		checks = append(checks, c...)
	}

	fmt.Fprintf(out, "\nTargets:\n")
	failed := len(checks) - printChecks(out, checks, "FAIL")
	fmt.Fprintf(out, "%d/%d targets met; total time %.0fs; load average at the end %s\n", len(checks)-failed, len(checks), time.Since(started).Seconds(), loadavg())
	var bg []float64
	for _, s := range rn.samples {
		bg = append(bg, s.Background)
	}
	if m := median(bg); m > 0.15 {
		fmt.Fprintf(out, "NOTE: other processes kept %.0f%% of the CPUs busy during the median run; absolute times are inflated and ratios noisier than on an idle machine\n", 100*m)
	}

	if f.jsonOut != "" {
		b, _ := json.MarshalIndent(rn.samples, "", "  ")
		if err := os.WriteFile(f.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
		logf("wrote %d samples to %s", len(rn.samples), f.jsonOut)
	}
	return nil
}

func version(path string, env []string, arg string) string {
	cmd := exec.Command(path, arg)
	cmd.Env = env
	b, _ := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

type check struct {
	name   string
	ok     bool
	detail string
}

type stats struct {
	wall, ttfbHdr, ttfbStart, startup, cpu []time.Duration
	rss, bytes                             []int64
	bg                                     []float64
}

func collect(ss []sample) stats {
	return stats{
		wall:      pluck(ss, func(s sample) time.Duration { return s.Wall }),
		ttfbHdr:   pluck(ss, func(s sample) time.Duration { return s.TTFBHdr }),
		ttfbStart: pluck(ss, func(s sample) time.Duration { return s.TTFBStart }),
		startup:   pluck(ss, func(s sample) time.Duration { return s.Startup }),
		cpu:       pluck(ss, func(s sample) time.Duration { return s.UserCPU + s.SysCPU }),
		rss:       pluck(ss, func(s sample) int64 { return s.MaxRSSKB }),
		bytes:     pluck(ss, func(s sample) int64 { return s.Bytes }),
		bg:        pluck(ss, func(s sample) float64 { return s.Background }),
	}
}

func median[T int64 | time.Duration | float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
func msec(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/1e6) }

// msecOrDash is msec, or "–" for a figure that was not measured (tar|curl
// sends no /_ping).
func msecOrDash(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return msec(d)
}

func spread(xs []time.Duration) string {
	return fmt.Sprintf("%s [%s–%s]", secs(median(xs)), secs(slices.Min(xs)), secs(slices.Max(xs)))
}

func (rn *runner) compare(out io.Writer, f runFlags, ctxDir string, st stamp, docker, mybuild client, baseline *client) ([]check, error) {
	fmt.Fprintf(out, "context: %s (scale %g): %d files, %d dirs, %s on disk\n", ctxDir, f.scale, st.Files, st.Dirs, mb(st.Bytes))
	order := []client{docker, mybuild}
	if baseline != nil {
		order = append(order, *baseline)
	}
	names := make([]string, len(order))
	for i, c := range order {
		names[i] = c.Name
	}
	fmt.Fprintf(out, "%d timed runs per client per mode, alternating %s, after one untimed warm-up run of each\n", f.runs, strings.Join(names, " / "))

	type result struct{ d, m, b stats }
	results := map[string]result{}
	for _, mode := range f.modes {
		// Warm-up: untimed, also verifies that both clients send the same entries.
		_, drec, err := rn.run(docker, mode, f.scale, ctxDir, 0, true)
		if err != nil {
			return nil, err
		}
		_, mrec, err := rn.run(mybuild, mode, f.scale, ctxDir, 0, true)
		if err != nil {
			return nil, err
		}
		logf("%s warm-up: docker sent %d entries (%s), mybuild %d entries (%s)", mode, len(drec.Names), mb(drec.Bytes), len(mrec.Names), mb(mrec.Bytes))
		if diff := diffNames(drec.Names, mrec.Names); diff != "" {
			fmt.Fprintf(out, "WARNING (%s): docker and mybuild send different entries: %s\n", mode, diff)
		}
		if baseline != nil {
			if _, _, err := rn.run(*baseline, mode, f.scale, ctxDir, 0, false); err != nil {
				return nil, err
			}
		}
		for i := 1; i <= f.runs; i++ {
			for _, c := range order {
				s, _, err := rn.run(c, mode, f.scale, ctxDir, i, false)
				if err != nil {
					return nil, err
				}
				logf("%-8s %-7s run %d/%d: wall %ss, %s, RSS %d MB, TTFB %sms after headers, %sms after start",
					mode, c.Name, i, f.runs, secs(s.Wall), mb(s.Bytes), s.MaxRSSKB/1024, msec(s.TTFBHdr), msec(s.TTFBStart))
			}
		}
		var ds, ms, bs []sample
		for _, s := range rn.samples {
			if s.Mode == mode && s.Scale == f.scale {
				switch s.Client {
				case docker.Name:
					ds = append(ds, s)
				case mybuild.Name:
					ms = append(ms, s)
				case "tar|curl":
					bs = append(bs, s)
				}
			}
		}
		results[mode] = result{collect(ds), collect(ms), collect(bs)}
	}

	fmt.Fprintf(out, "\nMedians [min–max] over %d runs (scale %g):\n", f.runs, f.scale)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "mode\tclient\twall s [min–max]\tvs docker\tbody bytes\tvs docker\tpeak RSS MB\tTTFB hdr ms\tTTFB start ms\tstartup ms\tCPU s\tbusy elsewhere\t\n")
	for _, mode := range f.modes {
		r := results[mode]
		rows := []stats{r.d, r.m}
		if baseline != nil {
			rows = append(rows, r.b)
		}
		for i, s := range rows {
			name, wr, br := names[i], "", ""
			if i > 0 {
				wr = fmt.Sprintf("%.2f×", s.wall2(r.d))
				br = fmt.Sprintf("%.3f×", float64(median(s.bytes))/float64(median(r.d.bytes)))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%.1f\t%s\t%s\t%s\t%s\t%.0f%%\t\n", mode, name, spread(s.wall), wr,
				median(s.bytes), br, float64(median(s.rss))/1024, msec(median(s.ttfbHdr)), msec(median(s.ttfbStart)),
				msecOrDash(median(s.startup)), secs(median(s.cpu)), 100*median(s.bg))
		}
	}
	tw.Flush()

	var checks []check
	for _, mode := range f.modes {
		r := results[mode]
		ratio := r.m.wall2(r.d)
		limit := 0.5
		if mode == "compress" {
			limit = 0.4
		}
		checks = append(checks, check{
			name:   fmt.Sprintf("%s: mybuild wall ≤ %.1f × docker's", mode, limit),
			ok:     ratio <= limit,
			detail: fmt.Sprintf("%.2f× (%ss vs %ss)", ratio, secs(median(r.m.wall)), secs(median(r.d.wall))),
		})
		if mode == "compress" {
			br := float64(median(r.m.bytes)) / float64(median(r.d.bytes))
			checks = append(checks, check{
				name:   "compress: mybuild gzip body ≤ 1.05 × docker's",
				ok:     br <= 1.05,
				detail: fmt.Sprintf("%.3f× (%d vs %d bytes)", br, median(r.m.bytes), median(r.d.bytes)),
			})
		}
		mr, dr := median(r.m.rss), median(r.d.rss)
		checks = append(checks, check{
			name:   fmt.Sprintf("%s: mybuild peak RSS ≤ docker's", mode),
			ok:     mr <= dr,
			detail: fmt.Sprintf("%.1f MB vs %.1f MB", float64(mr)/1024, float64(dr)/1024),
		})
		checks = append(checks, ttfbChecks(mode, f.scale, r.m)...)
	}
	return checks, nil
}

func (s stats) wall2(base stats) float64 {
	return float64(median(s.wall)) / float64(median(base.wall))
}

func ttfbChecks(mode string, scale float64, s stats) []check {
	const limit = 50 * time.Millisecond
	h, st := median(s.ttfbHdr), median(s.ttfbStart)
	return []check{
		{
			name:   fmt.Sprintf("%s: mybuild TTFB (POST headers → first body byte) < 50 ms, scale %g", mode, scale),
			ok:     h < limit,
			detail: fmt.Sprintf("%s ms median, %s ms max", msec(h), msec(slices.Max(s.ttfbHdr))),
		},
		{
			name:   fmt.Sprintf("%s: mybuild TTFB (process start → first body byte) < 50 ms, scale %g", mode, scale),
			ok:     st < limit,
			detail: fmt.Sprintf("%s ms median, %s ms max", msec(st), msec(slices.Max(s.ttfbStart))),
		},
	}
}

// flatness runs mybuild alternately at -scale and 4×-scale and compares its
// peak RSS.
func (rn *runner) flatness(out io.Writer, f runFlags, mybuild client) ([]check, error) {
	small, big := f.scale, 4*f.scale
	dirS, stS, err := ensureContext(f.work, small, logf)
	if err != nil {
		return nil, err
	}
	dirL, stL, err := ensureContext(f.work, big, logf)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nFlatness: mybuild at scale %g (%d files, %s) and scale %g (%d files, %s), %d runs each, alternating\n",
		small, stS.Files, mb(stS.Bytes), big, stL.Files, mb(stL.Bytes), f.runs)
	type pair struct{ s, l []sample }
	res := map[string]*pair{}
	for _, mode := range f.modes {
		p := &pair{}
		res[mode] = p
		for _, sc := range []struct {
			scale float64
			dir   string
		}{{small, dirS}, {big, dirL}} {
			if _, _, err := rn.run(mybuild, mode, sc.scale, sc.dir, 0, false); err != nil {
				return nil, err
			}
		}
		for i := 1; i <= f.runs; i++ {
			for j, sc := range []struct {
				scale float64
				dir   string
			}{{small, dirS}, {big, dirL}} {
				s, _, err := rn.run(mybuild, mode, sc.scale, sc.dir, i, false)
				if err != nil {
					return nil, err
				}
				// Keep flatness samples apart from the comparison ones.
				rn.samples[len(rn.samples)-1].Client = "mybuild-flat"
				if j == 0 {
					p.s = append(p.s, s)
				} else {
					p.l = append(p.l, s)
				}
				logf("flat %-8s scale %-4g run %d/%d: wall %ss, %s, RSS %d MB, TTFB %sms after headers, %sms after start",
					mode, sc.scale, i, f.runs, secs(s.Wall), mb(s.Bytes), s.MaxRSSKB/1024, msec(s.TTFBHdr), msec(s.TTFBStart))
			}
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "mode\tscale\twall s [min–max]\tbody bytes\tpeak RSS MB\tTTFB hdr ms\tTTFB start ms\tCPU s\tbusy elsewhere\t\n")
	var checks []check
	for _, mode := range f.modes {
		p := res[mode]
		ss, ls := collect(p.s), collect(p.l)
		for i, s := range []stats{ss, ls} {
			sc := small
			if i == 1 {
				sc = big
			}
			fmt.Fprintf(tw, "%s\t%g\t%s\t%d\t%.1f\t%s\t%s\t%s\t%.0f%%\t\n", mode, sc, spread(s.wall), median(s.bytes),
				float64(median(s.rss))/1024, msec(median(s.ttfbHdr)), msec(median(s.ttfbStart)), secs(median(s.cpu)), 100*median(s.bg))
		}
		ratio := float64(median(ls.rss)) / float64(median(ss.rss))
		checks = append(checks, check{
			name:   fmt.Sprintf("%s: mybuild peak RSS at scale %g within 20%% of scale %g", mode, big, small),
			ok:     ratio <= 1.2 && ratio >= 1/1.2,
			detail: fmt.Sprintf("%.2f× (%.1f MB vs %.1f MB)", ratio, float64(median(ls.rss))/1024, float64(median(ss.rss))/1024),
		})
		checks = append(checks, ttfbChecks(mode, big, ls)...)
	}
	tw.Flush()
	return checks, nil
}

// diffNames summarises the difference between two entry lists ("" if they
// hold the same names, order ignored).
func diffNames(a, b []string) string {
	as, bs := map[string]bool{}, map[string]bool{}
	for _, n := range a {
		as[n] = true
	}
	for _, n := range b {
		bs[n] = true
	}
	var onlyA, onlyB []string
	for n := range as {
		if !bs[n] {
			onlyA = append(onlyA, n)
		}
	}
	for n := range bs {
		if !as[n] {
			onlyB = append(onlyB, n)
		}
	}
	if len(onlyA) == 0 && len(onlyB) == 0 && len(a) == len(b) {
		return ""
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	first := func(xs []string) string {
		if len(xs) > 5 {
			return strings.Join(xs[:5], ", ") + fmt.Sprintf(", … (%d more)", len(xs)-5)
		}
		return strings.Join(xs, ", ")
	}
	return fmt.Sprintf("%d vs %d entries; only docker: [%s]; only mybuild: [%s]", len(a), len(b), first(onlyA), first(onlyB))
}
