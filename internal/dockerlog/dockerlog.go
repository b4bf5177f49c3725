// Package dockerlog prints mybuild's own non-fatal problems the way docker
// does: its logrus logger on stderr, in the text format docker prints on a
// terminal too: time="…" level=warning msg="…".
package dockerlog

import (
	"io"

	"github.com/sirupsen/logrus"
)

// New returns docker's logger writing to w.
func New(w io.Writer) *logrus.Logger {
	l := logrus.New()
	l.Out = w
	l.Formatter = &logrus.TextFormatter{DisableColors: true}
	return l
}

// Error and Warn print one message through the logger.
func Error(w io.Writer, msg string) { New(w).Error(msg) }
func Warn(w io.Writer, msg string)  { New(w).Warn(msg) }
