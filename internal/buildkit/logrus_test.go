package buildkit

import (
	"bytes"
	"log"
	"testing"

	"github.com/sirupsen/logrus"
)

// During a build the libraries' logs go to the build's log in buildx's
// form, and the standard logger's lines (the session's HTTP/2 server)
// nowhere unless debugging; after it, both loggers are as they were.
func TestRouteLibraryLogs(t *testing.T) {
	var out bytes.Buffer
	l := &deferredLog{w: &out}
	orig := log.Writer()
	defer log.SetOutput(orig)
	var terminal bytes.Buffer // where the standard logger wrote before
	log.SetOutput(&terminal)
	restore := routeLibraryLogs(l)
	logrus.Warn("cache export failed")
	log.Print("http2: server connection error from localhost: connection error: PROTOCOL_ERROR")
	restore()
	l.flush()
	if got, want := out.String(), "WARNING: cache export failed\n"; got != want {
		t.Errorf("the build's log = %q, want %q", got, want)
	}
	if terminal.Len() != 0 {
		t.Errorf("the standard logger printed %q during the build", terminal.String())
	}
	if log.Writer() != &terminal {
		t.Error("the standard logger's output was not restored")
	}
}
