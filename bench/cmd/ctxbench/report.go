package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The report scenario (-modes report): what keeping the build record and
// printing the report cost on an unchanged rebuild of the context. mybuild
// runs three ways, alternating: MYBUILD_REPORT=off (no record), the
// default (the record kept, nothing printed in plain output) and --report
// (the text report printed too), against the same draining daemon.

// reportVariant is one way mybuild runs in the report scenario.
type reportVariant struct {
	name string
	env  []string
	args []string
}

// reportCost runs the variants f.runs times each after one warm-up that
// leaves the record, and checks that the record and the report each cost
// at most 2% of the wall time of a build without them.
func (rn *runner) reportCost(out io.Writer, f runFlags, ctxDir string, files int64, mybuild string) ([]check, error) {
	cache, err := os.MkdirTemp("", "ctxbench-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(cache)
	variants := []reportVariant{
		{name: "report=off", env: []string{"MYBUILD_REPORT=off"}},
		{name: "default"},
		{name: "--report", args: []string{"--report"}},
	}
	fmt.Fprintf(out, "\nreport scenario: mybuild %s, %d timed runs each, alternating, on an unchanged rebuild (the record left by a warm-up)\n",
		strings.Join(pluck(variants, func(v reportVariant) string { return v.name }), " / "), f.runs)
	baseEnv := rn.env
	defer func() { rn.env = baseEnv }()
	walls := make([][]time.Duration, len(variants))
	cpus := make([][]time.Duration, len(variants))
	rss := make([][]int64, len(variants))
	for run := 0; run <= f.runs; run++ {
		for i, v := range variants {
			c := buildClient("mybuild "+v.name, mybuild, v.args...)
			rn.env = append(slices.Clone(baseEnv), append([]string{"XDG_CACHE_HOME=" + filepath.Join(cache, "xdg")}, v.env...)...)
			s, _, err := rn.run(c, "plain", f.scale, ctxDir, run, false)
			if err != nil {
				return nil, err
			}
			if run > 0 {
				walls[i] = append(walls[i], s.Wall)
				cpus[i] = append(cpus[i], s.UserCPU+s.SysCPU)
				rss[i] = append(rss[i], s.MaxRSSKB)
			}
		}
	}
	records, _ := filepath.Glob(filepath.Join(cache, "xdg", "mybuild", "reports", "*"))
	if len(records) != 1 {
		return nil, fmt.Errorf("report scenario: %d build records kept, want 1 (one context, one Dockerfile, one daemon)", len(records))
	}
	// The record may cost 1 MiB of memory per 10k files.
	rssLimitKB := files * 1024 / 10000
	off, offRSS := median(walls[0]), median(rss[0])
	fmt.Fprintf(out, "  %-12s median wall %ss (spread %s), CPU %ss, peak RSS %d KiB\n", variants[0].name, secs(off), spread(walls[0]), secs(median(cpus[0])), offRSS)
	var checks []check
	for i, v := range variants[1:] {
		m := median(walls[i+1])
		ratio := float64(m) / float64(off)
		extra := median(rss[i+1]) - offRSS
		fmt.Fprintf(out, "  %-12s median wall %ss (spread %s), CPU %ss: %.3f× report=off; peak RSS %+d KiB\n", v.name, secs(m), spread(walls[i+1]), secs(median(cpus[i+1])), ratio, extra)
		checks = append(checks, check{
			name:   fmt.Sprintf("report: mybuild %s wall ≤ 1.02× MYBUILD_REPORT=off (unchanged rebuild)", v.name),
			ok:     ratio <= 1.02,
			detail: fmt.Sprintf("%.3f×: %ss vs %ss", ratio, secs(m), secs(off)),
		}, check{
			name:   fmt.Sprintf("report: mybuild %s peak RSS ≤ MYBUILD_REPORT=off's + 1 MiB per 10k files", v.name),
			ok:     extra <= rssLimitKB,
			detail: fmt.Sprintf("%+d KiB for %d files (limit %d KiB)", extra, files, rssLimitKB),
		})
	}
	return checks, nil
}
