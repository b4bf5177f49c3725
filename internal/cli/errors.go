package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/mybuild/mybuild/pkg/jsonstream"
)

// StatusError carries the exit code docker would use; Message, when not
// empty, is printed on stderr.
type StatusError struct {
	Message string
	Code    int
}

func (e *StatusError) Error() string { return e.Message }

// SignalError is the cancellation cause when a signal interrupts the build.
type SignalError struct{ Signal os.Signal }

func (e *SignalError) Error() string { return "interrupted by " + e.Signal.String() }

// flagError builds docker's answer to a bad flag: the message, the usage
// line and a pointer to --help, exit status 125.
func flagError(err error) error {
	return &StatusError{Code: 125, Message: fmt.Sprintf("%s\n\nUsage:  %s\n\nRun '%s --help' for more information", err, useLine, commandName)}
}

// exitCode maps an error to the process's exit status and prints what the
// user should read. It is the one place that does so: the pipeline returns
// errors as they come (a *jsonstream.StreamError from the daemon's stream),
// and Main exits with what it returns, the second signal included.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	// A BuildKit failure is reported as buildx reports it, interrupted or not.
	var bk interface{ ExitStatus() int }
	if errors.As(err, &bk) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return bk.ExitStatus()
	}
	var sig *SignalError
	if errors.As(err, &sig) {
		if s, ok := sig.Signal.(syscall.Signal); ok {
			return 128 + int(s)
		}
		return 130
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	var h *hintError
	if errors.As(err, &h) {
		defer fmt.Fprintln(stderr, "hint: "+h.hint)
	}
	var st *StatusError
	if errors.As(err, &st) {
		if st.Message != "" {
			fmt.Fprintln(stderr, st.Message)
		}
		return failureStatus(st.Code)
	}
	if se, ok := jsonstream.IsStreamError(err); ok {
		fmt.Fprintln(stderr, se.Message)
		return failureStatus(se.Code)
	}
	fmt.Fprintln(stderr, err)
	return 1
}

// failureStatus is the exit status of a failure with code: 8 bits, as the
// OS keeps of docker's, but never 0 (docker exits 0 for a code of 256).
func failureStatus(code int) int {
	if code &= 0xff; code == 0 {
		return 1
	}
	return code
}
