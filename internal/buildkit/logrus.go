package buildkit

import (
	"bytes"
	"fmt"
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
	return func() {
		std.SetOutput(out)
		std.SetFormatter(f)
	}
}
