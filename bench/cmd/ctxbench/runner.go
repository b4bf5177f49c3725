package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"text/tabwriter"
	"time"
)

// The one runner of both scenarios: the classic one (run.go: docker on
// the legacy builder, mybuild and tar|curl against the draining daemon)
// and the BuildKit one (buildkit.go: buildx and mybuild on a real daemon
// through a counting proxy) start each client run here and print their
// targets with printChecks.

// spawned is one client run through the spawner (spawn.go) and the CPU
// the machine and ctxbench used meanwhile.
type spawned struct {
	rep        spawnReport
	out        string // the client's stdout and stderr
	ps         *os.ProcessState
	busy, self time.Duration
	// err says the run could not be made or the client failed.
	err error
}

// spawnRun runs path with args through the spawner, with env and a
// timeout; begin and end bracket the run inside the CPU measurement (the
// daemon's or the proxy's record).
func spawnRun(self, path string, args, env []string, timeout time.Duration, begin, end func()) spawned {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, append([]string{spawnArg, path}, args...)...)
	cmd.Env = env
	cmd.Dir = os.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	repR, repW, err := os.Pipe()
	if err != nil {
		return spawned{err: err}
	}
	defer repR.Close()
	cmd.ExtraFiles = []*os.File{repW}
	var s spawned
	repDone := make(chan error, 1)
	go func() { repDone <- json.NewDecoder(repR).Decode(&s.rep) }()

	begin()
	busy0, self0 := cpuBusy(), selfCPU()
	err = cmd.Start()
	repW.Close()
	if err == nil {
		err = cmd.Wait()
	}
	busy1, self1 := cpuBusy(), selfCPU()
	end()
	if rerr := <-repDone; err == nil && rerr != nil {
		err = fmt.Errorf("reading the spawner's report: %w", rerr)
	}
	if err == nil && s.rep.Err != "" {
		err = errors.New(s.rep.Err)
	}
	s.out, s.ps, s.err = out.String(), cmd.ProcessState, err
	s.busy, s.self = busy1-busy0, self1-self0
	return s
}

// wall is the client's own wall time, as the spawner took it.
func (s spawned) wall() time.Duration { return time.Duration(s.rep.End - s.rep.Start) }

// start is when the client started.
func (s spawned) start() time.Time { return time.Unix(0, s.rep.Start) }

// printChecks prints one line a target, PASS or the word for a miss, and
// returns how many were met.
func printChecks(out io.Writer, checks []check, miss string) int {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	met := 0
	for _, c := range checks {
		word := miss
		if c.ok {
			word, met = "PASS", met+1
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", word, c.name, c.detail)
	}
	tw.Flush()
	return met
}

// pluck is one figure of each sample, for the medians.
func pluck[S, T any](ss []S, f func(S) T) []T {
	var out []T
	for _, s := range ss {
		out = append(out, f(s))
	}
	return out
}
