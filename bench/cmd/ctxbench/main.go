// Command ctxbench measures how fast a `docker build` client (docker CLI on
// the legacy builder path, and mybuild) gets a big build context onto the
// wire. It generates a deterministic context, serves a minimal Engine API on
// 127.0.0.1 that drains the body, and runs both clients alternately against
// it, reporting medians and checking the performance targets.
//
//	ctxbench gen [-scale 1] [-work DIR]
//	ctxbench serve [-addr 127.0.0.1:0]   (just the draining daemon, for manual runs)
//	ctxbench buildkit -mybuild PATH [-runs 5] [-scales 1,4] ...   (the BuildKit path
//	         against buildx on a real daemon: bench/buildkit.sh)
//	ctxbench [-scale 1] [-runs 5] [-modes plain,compress] [-flat] \
//	         [-mybuild PATH] [-docker PATH] [-work DIR] [-json FILE]
//
// See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ctxbench "+name, flag.ContinueOnError)
	return fs
}

func defaultWork() string { return filepath.Join(os.TempDir(), "ctxbench") }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ctxbench: "+format+"\n", args...)
}

func main() {
	args := os.Args[1:]
	if len(args) > 1 && args[0] == spawnArg {
		spawnMain(args[1:])
	}
	var err error
	switch {
	case len(args) > 0 && args[0] == "gen":
		err = cmdGen(args[1:])
	case len(args) > 0 && args[0] == "buildkit":
		err = cmdBuildKit(args[1:])
	case len(args) > 0 && args[0] == "serve":
		err = cmdServe(args[1:])
	default:
		err = cmdRun(args)
	}
	if err == flag.ErrHelp {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctxbench:", err)
		os.Exit(1)
	}
}

// cmdServe runs only the draining daemon and logs each build it drains.
func cmdServe(args []string) error {
	fs := newFlagSet("serve")
	addr := fs.String("addr", "127.0.0.1:0", "TCP address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := startDaemon(*addr)
	if err != nil {
		return err
	}
	d.onBuild = func(r record) {
		logf("drained %d bytes (gzip %v), first body byte %.1f ms after the headers, %.3f s to drain",
			r.Bytes, r.Gzip, float64(r.FirstByteAt.Sub(r.HeadersAt))/1e6, r.EndAt.Sub(r.FirstByteAt).Seconds())
	}
	fmt.Printf("tcp://%s\n", d.addr())
	select {}
}
