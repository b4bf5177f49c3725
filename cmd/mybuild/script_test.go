package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mybuild/mybuild/internal/cli"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"mybuild": func() { os.Exit(cli.Main(os.Args[1:])) },
	})
}

// daemons maps a script's work directory to its fake daemon.
var daemons sync.Map

// TestScripts runs the binary against an in-process fake daemon
// (testdata/script/*.txtar). `daemon [options]` (re)starts it on a unix
// socket and points DOCKER_HOST at it; `request` prints what the last
// /build received.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("DOCKER_CONFIG", filepath.Join(env.WorkDir, ".docker"))
			env.Setenv("NO_COLOR", "1")
			// The scripts are about the classic builder (the fake daemon's);
			// a script about BuildKit's context rules unsets it.
			env.Setenv("DOCKER_BUILDKIT", "0")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"daemon":  cmdDaemon,
			"request": cmdRequest,
		},
	})
}

func cmdDaemon(ts *testscript.TestScript, neg bool, args []string) {
	var opts []enginetest.Option
	for _, a := range args {
		switch {
		case a == "experimental":
			opts = append(opts, enginetest.WithExperimental(true))
		case strings.HasPrefix(a, "api="):
			opts = append(opts, enginetest.WithAPIVersion(strings.TrimPrefix(a, "api=")))
		case strings.HasPrefix(a, "stream="):
			opts = append(opts, enginetest.WithRecordedStream(strings.TrimPrefix(a, "stream=")))
		default:
			ts.Fatalf("daemon: unknown option %q", a)
		}
	}
	d := enginetest.New(opts...)
	// A short path: unix socket names are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "mbd")
	ts.Check(err)
	sock := filepath.Join(dir, "d.sock")
	stop, err := d.Start("unix", sock)
	ts.Check(err)
	ts.Defer(func() { stop(); os.RemoveAll(dir) })
	daemons.Store(ts.Getenv("WORK"), d)
	ts.Setenv("DOCKER_HOST", "unix://"+sock)
}

func cmdRequest(ts *testscript.TestScript, neg bool, args []string) {
	v, ok := daemons.Load(ts.Getenv("WORK"))
	if !ok {
		ts.Fatalf("request: no daemon started")
	}
	d := v.(*enginetest.Daemon)
	d.Wait()
	reqs := d.Requests()
	if len(reqs) == 0 {
		if !neg {
			ts.Fatalf("request: the daemon received no /build")
		}
		return
	}
	if neg {
		ts.Fatalf("request: the daemon received a /build")
	}
	r := reqs[len(reqs)-1]
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s?%s\n", r.Method, r.Path, r.RawQuery)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "header %s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	for _, e := range r.Entries {
		fmt.Fprintf(&b, "entry %s %o %d:%d %d\n", e.Name, e.Mode, e.Uid, e.Gid, e.Size)
	}
	ts.Stdout().Write([]byte(b.String()))
}
