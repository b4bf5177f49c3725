package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Peak RSS of a child is read from the rusage that wait4 returns, but Linux
// folds the high-water RSS of the memory image a process had before execve
// into ru_maxrss. With Go's vfork-style spawning that image is the parent's,
// so a client started straight from ctxbench would report
// max(ctxbench's peak RSS, its own) — ctxbench holds the 24 MB generation
// buffer and the daemon's buffers. So clients are started through this small
// spawner (ctxbench re-executed as `ctxbench __spawn PATH ARGS...`), whose
// own RSS is the only floor left; the floor is measured and printed (see
// spawnFloor). The spawner also takes the start and end timestamps, so that
// its own start-up is not counted in the client's wall time.

const spawnArg = "__spawn"

type spawnReport struct {
	Start    int64 `json:"start_unix_ns"`
	End      int64 `json:"end_unix_ns"`
	MaxRSSKB int64 `json:"max_rss_kb"`
	// TreeMaxRSSKB is the largest peak RSS among the child and the
	// descendants it waited for (RUSAGE_CHILDREN): for docker, its plugin.
	TreeMaxRSSKB int64  `json:"tree_max_rss_kb"`
	UserNS       int64  `json:"user_ns"`
	SysNS        int64  `json:"sys_ns"`
	Exit         int    `json:"exit"`
	Err          string `json:"err,omitempty"`
}

// spawnMain runs in the spawner process; fd 3 is the report pipe.
func spawnMain(args []string) {
	report := os.NewFile(3, "report")
	var rep spawnReport
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	t1 := time.Now()
	rep.Start, rep.End = t0.UnixNano(), t1.UnixNano()
	if err != nil {
		rep.Err = err.Error()
	}
	if ps := cmd.ProcessState; ps != nil {
		rep.Exit = ps.ExitCode()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			rep.MaxRSSKB = ru.Maxrss
			rep.UserNS = ru.Utime.Nano()
			rep.SysNS = ru.Stime.Nano()
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		rep.TreeMaxRSSKB = ru.Maxrss
	}
	json.NewEncoder(report).Encode(rep)
	report.Close()
	os.Exit(0)
}
