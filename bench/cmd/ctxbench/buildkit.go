package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// The BuildKit comparison (ctxbench buildkit, run by bench/buildkit.sh):
// mybuild and `docker build` with buildx's docker driver build
// `FROM mybuild-test/busybox` + `COPY . /app` on a real Engine 29, each
// through a counting proxy, alternating, in four cases: an unchanged
// rebuild, a rebuild after one file changed, a cold build (build cache
// pruned first), and mybuild's unchanged rebuild at 4× the files.

// fileFraming bounds what sending one file adds to its bytes: the gRPC
// message prefixes and protobuf fields of its DATA packet and of the empty
// one that ends it (25 bytes, measured, for buildx and mybuild alike).
const fileFraming = 64

const bkDockerfile = "FROM mybuild-test/busybox\nCOPY . /app\n"

type bkFlags struct {
	runs          int
	mybuild       string
	docker        string
	dockerConfig  string // holds cli-plugins/docker-buildx
	daemon        string // tcp://HOST:PORT of the daemon
	daemonSock    string // its unix socket (pruning, not proxied)
	daemonPidfile string
	work          string
	scales        []float64
	cases         []string
	timeout       time.Duration
	jsonOut       string
}

type bkSample struct {
	Case      string        `json:"case"`
	Client    string        `json:"client"`
	Scale     float64       `json:"scale"`
	Run       int           `json:"run"`
	Wall      time.Duration `json:"wall_ns"`
	Sent      int64         `json:"sent_bytes"`
	FileBytes int64         `json:"file_transfer_bytes"` // FileSync DATA payload in the session
	FirstFile time.Duration `json:"first_file_byte_ns"`  // process start → first FileSync DATA; 0 = not seen
	MaxRSSKB  int64         `json:"max_rss_kb"`          // mybuild; for docker the largest of the CLI and its plugin
	CPU       time.Duration `json:"cpu_ns"`              // the client and the children it waited for
	DaemonCPU time.Duration `json:"daemon_cpu_ns"`       // dockerd and its descendants
	Sessions  int           `json:"sessions"`
	// Background is the CPU the rest of the machine used, as a share of
	// wall × CPUs.
	Background float64 `json:"background_cpu_fraction"`
}

type bkRunner struct {
	self, ctxDir, dfDir string
	f                   bkFlags
	p                   *proxy
	envs                map[string][]string
	daemonPID           int
	changedSize         int64 // of the file the onefile case changes
	samples             []bkSample
}

func cmdBuildKit(args []string) error {
	fs := newFlagSet("buildkit")
	var f bkFlags
	fs.IntVar(&f.runs, "runs", 5, "timed runs per client per case (alternating)")
	fs.StringVar(&f.mybuild, "mybuild", "", "mybuild binary")
	fs.StringVar(&f.docker, "docker", "/usr/local/bin/docker", "docker CLI binary")
	fs.StringVar(&f.dockerConfig, "docker-config", "/opt/mybuild-refs/docker-config", "a DOCKER_CONFIG whose cli-plugins/docker-buildx is buildx")
	fs.StringVar(&f.daemon, "daemon", "tcp://127.0.0.1:2396", "the daemon's tcp address (the clients reach it through a counting proxy)")
	fs.StringVar(&f.daemonSock, "daemon-sock", "/run/mybuild-bench/docker.sock", "the daemon's unix socket, for pruning its build cache")
	fs.StringVar(&f.daemonPidfile, "daemon-pidfile", "/run/mybuild-bench/docker.pid", "the daemon's pidfile, for its CPU time")
	fs.StringVar(&f.work, "work", defaultWork(), "directory holding generated contexts")
	scales := fs.String("scales", "1,4", "context scales: the first is compared, the others run mybuild only (peak RSS flatness)")
	cases := fs.String("cases", "unchanged,onefile,cold", "comma-separated cases: unchanged, onefile, cold")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "kill a client run after this long")
	fs.StringVar(&f.jsonOut, "json", "", "also write every sample as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || f.mybuild == "" {
		return fmt.Errorf("usage: ctxbench buildkit -mybuild PATH [flags]")
	}
	for _, s := range strings.Split(*scales, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("bad -scales %q", *scales)
		}
		f.scales = append(f.scales, v)
	}
	for _, c := range strings.Split(*cases, ",") {
		c = strings.TrimSpace(c)
		if c != "unchanged" && c != "onefile" && c != "cold" {
			return fmt.Errorf("unknown case %q", c)
		}
		f.cases = append(f.cases, c)
	}
	rn, cleanup, err := newBKRunner(f)
	if err != nil {
		return err
	}
	defer cleanup()
	return rn.main(os.Stdout)
}

func newBKRunner(f bkFlags) (*bkRunner, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp("", "ctxbench-bk-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	rn := &bkRunner{self: self, f: f, dfDir: filepath.Join(tmp, "df"), envs: map[string][]string{}}
	fail := func(err error) (*bkRunner, func(), error) { cleanup(); return nil, nil, err }
	if err := os.MkdirAll(rn.dfDir, 0o755); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(rn.dfDir, "Dockerfile"), []byte(bkDockerfile), 0o644); err != nil {
		return fail(err)
	}
	// Each client gets a DOCKER_CONFIG and HOME of its own for the whole
	// run (buildx keeps state there); docker's holds only the plugin.
	for _, c := range []string{"docker", "mybuild", "prune"} {
		cfg := filepath.Join(tmp, c, "config")
		if err := os.MkdirAll(cfg, 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte("{}\n"), 0o600); err != nil {
			return fail(err)
		}
		if c == "docker" {
			plugin, err := filepath.EvalSymlinks(filepath.Join(f.dockerConfig, "cli-plugins", "docker-buildx"))
			if err != nil {
				return fail(fmt.Errorf("buildx plugin: %w", err))
			}
			if err := os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755); err != nil {
				return fail(err)
			}
			if err := os.Symlink(plugin, filepath.Join(cfg, "cli-plugins", "docker-buildx")); err != nil {
				return fail(err)
			}
		}
		rn.envs[c] = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(tmp, c), "TMPDIR=" + os.TempDir(),
			"LANG=C.UTF-8", "DOCKER_CONFIG=" + cfg,
		}
	}
	if b, err := os.ReadFile(f.daemonPidfile); err == nil {
		rn.daemonPID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	rn.p, err = startProxy(strings.TrimPrefix(f.daemon, "tcp://"))
	if err != nil {
		return fail(err)
	}
	return rn, func() { rn.p.ln.Close(); cleanup() }, nil
}

// args are the command lines of the two clients: both build the context
// with the Dockerfile beside it, through the proxy.
func (rn *bkRunner) args(client, ctxDir string) (string, []string) {
	host := "tcp://" + rn.p.addr()
	df := filepath.Join(rn.dfDir, "Dockerfile")
	if client == "docker" {
		return rn.f.docker, []string{"-H", host, "build", "-f", df, "-t", "mybuild-bench:docker", ctxDir}
	}
	return rn.f.mybuild, []string{"-H", host, "-f", df, "-t", "mybuild-bench:mybuild", ctxDir}
}

func (rn *bkRunner) run(caseName, client string, scale float64, ctxDir string, runNo int) (bkSample, error) {
	path, args := rn.args(client, ctxDir)
	var rec proxyRecord
	var d0, d1 time.Duration
	sp := spawnRun(rn.self, path, args, rn.envs[client], rn.f.timeout,
		func() { rn.p.reset(); d0 = procTreeCPU(rn.daemonPID) },
		func() { rec = rn.p.end(); d1 = procTreeCPU(rn.daemonPID) })
	err, rep := sp.err, sp.rep
	if err == nil && rep.Exit != 0 {
		err = fmt.Errorf("exit status %d", rep.Exit)
	}
	if err != nil {
		return bkSample{}, fmt.Errorf("%s %s (scale %g, run %d): %v\n$ %s %s\n%s", client, caseName, scale, runNo, err,
			path, strings.Join(args, " "), tail(sp.out, 4000))
	}
	wall := sp.wall()
	s := bkSample{Case: caseName, Client: client, Scale: scale, Run: runNo, Wall: wall, Sent: rec.Sent,
		FileBytes: rec.FileBytes, MaxRSSKB: rep.MaxRSSKB, CPU: time.Duration(rep.UserNS + rep.SysNS),
		DaemonCPU: d1 - d0, Sessions: rec.Sessions}
	if client == "docker" {
		s.MaxRSSKB = max(rep.TreeMaxRSSKB, rep.MaxRSSKB)
	}
	if !rec.FirstFile.IsZero() {
		s.FirstFile = rec.FirstFile.Sub(sp.start())
	}
	var spawner time.Duration
	if ps := sp.ps; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			spawner = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()) // with the client's
		}
	}
	if bg := sp.busy - spawner - sp.self - s.DaemonCPU; bg > 0 && wall > 0 {
		s.Background = float64(bg) / (float64(wall) * float64(runtime.NumCPU()))
	}
	if runNo > 0 {
		rn.samples = append(rn.samples, s)
	}
	return s, nil
}

// procTreeCPU is the CPU time of pid and its live descendants, with the
// children each has waited for (containerd, shims, runc).
func procTreeCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	cpu := map[int]time.Duration{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		pp, t, ok := parseStat(string(b))
		if ok {
			parent[p], cpu[p] = pp, t
		}
	}
	var total time.Duration
	for p, t := range cpu {
		for q := p; q > 0; q = parent[q] {
			if q == pid {
				total += t
				break
			}
		}
	}
	return total
}

// parseStat reads the ppid and utime+stime+cutime+cstime of a
// /proc/PID/stat line.
func parseStat(s string) (ppid int, cpu time.Duration, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is the state (field 3); ppid is field 4, utime..cstime 14..17.
	if len(f) < 15 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	var ticks int64
	for _, v := range f[11:15] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return ppid, time.Duration(ticks) * time.Second / clkTck, true
}

// changer rewrites one file of the context between runs, keeping its size
// (so the generator's stamp still matches), and restores it at the end.
type changer struct {
	path string
	orig []byte
	n    int
}

func newChanger(ctxDir string) (*changer, error) {
	var found string
	err := filepath.WalkDir(filepath.Join(ctxDir, "src"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" || d.IsDir() {
			return err
		}
		if info, err := d.Info(); err == nil && info.Size() >= 4<<10 && info.Size() <= 16<<10 {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == "" {
		return nil, errors.New("no 4–16 KB file under src/ to change")
	}
	b, err := os.ReadFile(found)
	if err != nil {
		return nil, err
	}
	return &changer{path: found, orig: b}, nil
}

func (c *changer) change() error {
	c.n++
	b := slices.Clone(c.orig)
	copy(b, fmt.Sprintf("/* ctxbench %08d */", c.n))
	return os.WriteFile(c.path, b, 0o644)
}

func (c *changer) restore() error { return os.WriteFile(c.path, c.orig, 0o644) }

// prune empties the daemon's build cache (through its socket, with the
// plain docker CLI: not through the proxy).
func (rn *bkRunner) prune() error {
	cmd := exec.Command(rn.f.docker, "-H", "unix://"+rn.f.daemonSock, "builder", "prune", "-af")
	cmd.Env = rn.envs["prune"]
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pruning the build cache: %v\n%s", err, out)
	}
	return nil
}

var bkClients = []string{"docker", "mybuild"}

func (rn *bkRunner) main(out io.Writer) error {
	t0 := time.Now()
	f := rn.f
	ctxDir, st, err := ensureContext(f.work, f.scales[0], logf)
	if err != nil {
		return err
	}
	rn.ctxDir = ctxDir
	fmt.Fprintf(out, "daemon: %s via a counting proxy (tcp://%s); %s\n", f.daemon, rn.p.addr(), daemonVersion(f.docker, f.daemonSock, rn.envs["prune"]))
	fmt.Fprintf(out, "docker: %s, buildx %s; mybuild: %s\n", version(f.docker, rn.envs["docker"], "--version"),
		buildxVersion(f.dockerConfig), version(f.mybuild, rn.envs["mybuild"], "--version"))
	fmt.Fprintf(out, "context: %s (scale %g): %d files, %d dirs, %s on disk; Dockerfile: %q\n",
		ctxDir, f.scales[0], st.Files, st.Dirs, mb(st.Bytes), bkDockerfile)
	fmt.Fprintf(out, "%d CPUs, load average at the start %s\n\n", runtime.NumCPU(), loadavg())

	// Warm-up: each client's first transfer (and the page cache).
	for _, c := range bkClients {
		if _, err := rn.run("warm-up", c, f.scales[0], ctxDir, 0); err != nil {
			return err
		}
	}
	for _, cs := range f.cases {
		logf("case %s: %d runs each, alternating", cs, f.runs)
		if err := rn.runCase(cs, ctxDir); err != nil {
			return err
		}
	}
	for _, sc := range f.scales[1:] {
		dir, _, err := ensureContext(f.work, sc, logf)
		if err != nil {
			return err
		}
		logf("flatness: mybuild at scale %g and %g, %d runs each, alternating", f.scales[0], sc, f.runs)
		if _, err := rn.run("warm-up", "mybuild", sc, dir, 0); err != nil {
			return err
		}
		for i := 1; i <= f.runs; i++ {
			for _, run := range []struct {
				sc  float64
				dir string
			}{{f.scales[0], ctxDir}, {sc, dir}} {
				if _, err := rn.run("flat", "mybuild", run.sc, run.dir, i); err != nil {
					return err
				}
			}
		}
	}
	rn.report(out)
	if f.jsonOut != "" {
		b, _ := json.MarshalIndent(rn.samples, "", "  ")
		if err := os.WriteFile(f.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "total time %.0fs; load average at the end %s\n", time.Since(t0).Seconds(), loadavg())
	return nil
}

func (rn *bkRunner) runCase(cs, ctxDir string) error {
	var ch *changer
	if cs == "onefile" {
		var err error
		if ch, err = newChanger(ctxDir); err != nil {
			return err
		}
		defer ch.restore()
	}
	for i := 1; i <= rn.f.runs; i++ {
		order := bkClients
		if i%2 == 0 { // neither client always goes first
			order = []string{bkClients[1], bkClients[0]}
		}
		for _, c := range order {
			switch cs {
			case "onefile":
				if err := ch.change(); err != nil {
					return err
				}
			case "cold":
				if err := rn.prune(); err != nil {
					return err
				}
			}
			if _, err := rn.run(cs, c, rn.f.scales[0], ctxDir, i); err != nil {
				return err
			}
		}
	}
	if ch != nil {
		fi, _ := os.Stat(ch.path)
		logf("onefile: changed %s (%d bytes) before every run", ch.path, fi.Size())
		rn.changedSize = fi.Size()
	}
	return nil
}

func daemonVersion(docker, sock string, env []string) string {
	cmd := exec.Command(docker, "-H", "unix://"+sock, "version", "--format", "Engine {{.Server.Version}}, API {{.Server.APIVersion}}")
	cmd.Env = env
	b, err := cmd.Output()
	if err != nil {
		return "Engine ?"
	}
	return strings.TrimSpace(string(b))
}

// buildxVersion names the plugin: a `go install` build reports no version
// of its own, the directory it was installed into does.
func buildxVersion(dockerConfig string) string {
	p, err := filepath.EvalSymlinks(filepath.Join(dockerConfig, "cli-plugins", "docker-buildx"))
	if err != nil {
		return "?"
	}
	return p
}

// pick returns the timed samples of one case, client and scale.
func (rn *bkRunner) pick(cs, client string, scale float64) []bkSample {
	var ss []bkSample
	for _, s := range rn.samples {
		if s.Case == cs && s.Client == client && s.Scale == scale {
			ss = append(ss, s)
		}
	}
	return ss
}

type bkStats struct {
	wall, first, cpu, dcpu []time.Duration
	sent, files, rss       []int64
	bg                     []float64
}

func bkCollect(ss []bkSample) bkStats {
	var st bkStats
	for _, s := range ss {
		st.wall, st.first = append(st.wall, s.Wall), append(st.first, s.FirstFile)
		st.cpu, st.dcpu = append(st.cpu, s.CPU), append(st.dcpu, s.DaemonCPU)
		st.sent, st.files = append(st.sent, s.Sent), append(st.files, s.FileBytes)
		st.rss, st.bg = append(st.rss, s.MaxRSSKB), append(st.bg, s.Background)
	}
	return st
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func kb2mb(kb int64) float64 { return float64(kb) / 1024 }

var caseTitle = map[string]string{"unchanged": "unchanged rebuild", "onefile": "one file changed", "cold": "cold (cache pruned)", "flat": "unchanged rebuild"}

func (rn *bkRunner) report(out io.Writer) {
	f := rn.f
	fmt.Fprintf(out, "Medians [min–max] over %d runs, alternating (scale %g):\n", f.runs, f.scales[0])
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tclient\twall s [min–max]\tvs buildx\tsent bytes\tvs buildx\tfile transfer bytes\tpeak RSS MB\tvs buildx\tfirst file byte ms\tCPU s\tdaemon CPU s\tbusy elsewhere\t")
	var checks []check
	st := map[string]map[string]bkStats{}
	for _, cs := range f.cases {
		st[cs] = map[string]bkStats{}
		for _, c := range bkClients {
			st[cs][c] = bkCollect(rn.pick(cs, c, f.scales[0]))
		}
		d := st[cs]["docker"]
		for _, c := range bkClients {
			s := st[cs][c]
			vsW, vsB, vsR := "", "", ""
			name := "buildx"
			if c == "mybuild" {
				name = "mybuild"
				vsW = fmt.Sprintf("%.2f×", ratio(float64(median(s.wall)), float64(median(d.wall))))
				vsB = fmt.Sprintf("%.3f×", ratio(float64(median(s.sent)), float64(median(d.sent))))
				vsR = fmt.Sprintf("%.2f×", ratio(float64(median(s.rss)), float64(median(d.rss))))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%.0f%%\t\n", caseTitle[cs], name, spread(s.wall), vsW,
				median(s.sent), vsB, median(s.files), kb2mb(median(s.rss)), vsR, msecOrDash(median(s.first)), secs(median(s.cpu)),
				secs(median(s.dcpu)), 100*median(s.bg))
		}
	}
	tw.Flush()
	fmt.Fprintln(out, "sent: every byte the client sent to the daemon (all connections); file transfer: the FileSync DATA in the session.")
	fmt.Fprintln(out, "buildx's peak RSS: the docker CLI's ru_maxrss, which on Linux is the largest among it and the children it waited for, the buildx plugin.")
	if hasFlat := len(f.scales) > 1; hasFlat {
		fmt.Fprintf(out, "\nFlatness: mybuild's unchanged rebuild, alternating scales, %d runs each:\n", f.runs)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scale\twall s [min–max]\tsent bytes\tpeak RSS MB\tfirst file byte ms\tCPU s\t")
		for _, sc := range f.scales {
			s := bkCollect(rn.pick("flat", "mybuild", sc))
			fmt.Fprintf(tw, "%g\t%s\t%d\t%.1f\t%s\t%s\t\n", sc, spread(s.wall), median(s.sent), kb2mb(median(s.rss)), msecOrDash(median(s.first)), secs(median(s.cpu)))
		}
		tw.Flush()
	}
	checks = rn.checks(st)
	fmt.Fprintln(out, "\nTargets (ratios of medians, mybuild / buildx):")
	met := printChecks(out, checks, "MISS")
	fmt.Fprintf(out, "%d/%d targets met\n", met, len(checks))
	if bg := median(bkCollect(rn.samples).bg); bg > 0.15 {
		fmt.Fprintf(out, "NOTE: other processes used %.0f%% of the CPUs during the median run: the figures are noisy\n", 100*bg)
	}
}

func (rn *bkRunner) pickClient(client string) []bkSample {
	var ss []bkSample
	for _, s := range rn.samples {
		if s.Client == client {
			ss = append(ss, s)
		}
	}
	return ss
}

func (rn *bkRunner) checks(st map[string]map[string]bkStats) []check {
	var cs []check
	wall := func(c string, limit float64) {
		s, ok := st[c]
		if !ok {
			return
		}
		m, d := median(s["mybuild"].wall), median(s["docker"].wall)
		r := ratio(float64(m), float64(d))
		cs = append(cs, check{name: fmt.Sprintf("%s: wall ≤ %.2f×", caseTitle[c], limit), ok: r <= limit,
			detail: fmt.Sprintf("%.2f× (%ss vs %ss)", r, secs(m), secs(d))})
	}
	wall("unchanged", 0.6)
	if s, ok := st["unchanged"]; ok {
		m, d := median(s["mybuild"].sent), median(s["docker"].sent)
		cs = append(cs, check{name: "unchanged rebuild: bytes sent ≤ buildx's", ok: m <= d,
			detail: fmt.Sprintf("%.3f× (%d vs %d bytes)", ratio(float64(m), float64(d)), m, d)})
	}
	wall("onefile", 1.0)
	if s, ok := st["onefile"]; ok {
		m := median(s["mybuild"].files)
		meta := int64(0)
		if u, ok := st["unchanged"]; ok {
			meta = median(u["mybuild"].files)
		}
		limit := meta + rn.changedSize + fileFraming
		cs = append(cs, check{name: "one file changed: file transfer ≤ the file + the metadata", ok: meta > 0 && m <= limit,
			detail: fmt.Sprintf("%d bytes vs %d (%d of the file + %d of an unchanged rebuild's + %d of framing); buildx %d", m, limit, rn.changedSize, meta, fileFraming, median(s["docker"].files))})
	}
	wall("cold", 0.95)
	// Peak RSS: the worst case's ratio of medians.
	worst, wm, wd, wc := 0.0, int64(0), int64(0), ""
	for _, c := range rn.f.cases {
		m, d := median(st[c]["mybuild"].rss), median(st[c]["docker"].rss)
		if r := ratio(float64(m), float64(d)); r >= worst {
			worst, wm, wd, wc = r, m, d, caseTitle[c]
		}
	}
	if wc != "" {
		cs = append(cs, check{name: "peak RSS ≤ 0.5× buildx's (the worst case)", ok: worst <= 0.5,
			detail: fmt.Sprintf("%.2f× (%s: %.1f MB vs %.1f MB)", worst, wc, kb2mb(wm), kb2mb(wd))})
	}
	if len(rn.f.scales) > 1 {
		base := median(bkCollect(rn.pick("flat", "mybuild", rn.f.scales[0])).rss)
		for _, sc := range rn.f.scales[1:] {
			big := median(bkCollect(rn.pick("flat", "mybuild", sc)).rss)
			r := ratio(float64(big), float64(base))
			cs = append(cs, check{name: fmt.Sprintf("peak RSS flat: scale %g within 10%% of scale %g", sc, rn.f.scales[0]), ok: r <= 1.10,
				detail: fmt.Sprintf("%.2f× (%.1f MB vs %.1f MB)", r, kb2mb(big), kb2mb(base))})
		}
	}
	var first []time.Duration
	for _, s := range rn.pickClient("mybuild") {
		if s.FirstFile > 0 {
			first = append(first, s.FirstFile)
		}
	}
	if len(first) > 0 {
		mf := median(first)
		cs = append(cs, check{name: "process start → first byte of the file transfer < 100 ms", ok: mf < 100*time.Millisecond,
			detail: fmt.Sprintf("%s ms median, %s ms max (all mybuild runs)", msec(mf), msec(slices.Max(first)))})
	}
	return cs
}
