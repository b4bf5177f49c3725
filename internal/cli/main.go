// Package cli is mybuild's command line: cobra wiring, the two flag sets
// (docker build's legacy one and buildx build's) parsed once into a
// build.Request, the choice of builder by docker's rules, help,
// completion, context inspection, and the one mapping of errors to exit
// codes. The builders themselves live in internal/classic and
// internal/buildkit.
package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/internal/memtrim"
)

// Main runs mybuild with args (without the program name) and returns the
// process exit status.
func Main(args []string) int {
	memtrim.Binary()
	io := iostreams.System()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := notifySignals(cancel)
	defer stop()

	cmd := newCommand(ctx, &Factory{IO: io, Getenv: os.Getenv, LookupEnv: os.LookupEnv}, args)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return exitCode(err, io.ErrOut)
}

// notifySignals cancels the context on SIGINT or SIGTERM, with the signal
// as the cause; a second signal exits at once (docker waits for a third):
// a cancelled BuildKit solve waits up to 5 s for a daemon that is gone.
func notifySignals(cancel context.CancelCauseFunc) (stop func()) {
	ch := make(chan os.Signal, 3)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case s := <-ch:
				n++
				cancel(&SignalError{Signal: s})
				if n >= 2 {
					os.Exit(exitCode(&SignalError{Signal: s}, io.Discard))
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
