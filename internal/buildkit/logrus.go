package buildkit

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"github.com/sirupsen/logrus"
)

// quietMessages are library log lines buildx filters out as noise.
var quietMessages = []string{
	"serving grpc connection",
	"stopping session",
	"using default config store",
	// containerd's local content store (a local cache export) probes
	// fsverity and warns where the file system has none.
	"failed check for fsverity support",
}

// buildxFormatter prints a library's log entry as buildx does ("WARNING:
// msg: err"), and nothing for the messages buildx filters.
type buildxFormatter struct{}

func (buildxFormatter) Format(e *logrus.Entry) ([]byte, error) {
	if e.Level == logrus.WarnLevel || e.Level == logrus.DebugLevel {
		for _, q := range quietMessages {
			if strings.Contains(e.Message, q) {
				return nil, nil
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s", strings.ToUpper(e.Level.String()), e.Message)
	if v, ok := e.Data[logrus.ErrorKey]; ok {
		fmt.Fprintf(&b, ": %v", v)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// logWriter sends formatted entries to the build's deferred log.
type logWriter struct{ l *deferredLog }

func (w logWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		w.l.line(string(p))
	}
	return len(p), nil
}

// routeLibraryLogs sends what the libraries log through logrus (BuildKit's
// client, containerd) where buildx's go: held while the progress shows, in
// buildx's format, noise left out.
func routeLibraryLogs(l *deferredLog) (restore func()) {
	std := logrus.StandardLogger()
	out, f := std.Out, std.Formatter
	std.SetOutput(logWriter{l})
	std.SetFormatter(buildxFormatter{})
	// The session's HTTP/2 server logs through the standard logger when
	// the daemon drops a connection ("http2: server connection error …
	// PROTOCOL_ERROR"): a debug line, not a line in the build's output.
	stdOut, stdFlags := log.Writer(), log.Flags()
	log.SetOutput(debugLog{})
	log.SetFlags(0)
	return func() {
		std.SetOutput(out)
		std.SetFormatter(f)
		log.SetOutput(stdOut)
		log.SetFlags(stdFlags)
	}
}

// debugLog sends the standard logger's lines to logrus at debug level.
type debugLog struct{}

func (debugLog) Write(p []byte) (int, error) {
	logrus.Debug(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
