// Package jsonstream decodes the Docker daemon's JSON message stream and
// renders it as the docker CLI does, and formats upload progress lines.
package jsonstream

import (
	"encoding/json"
	"fmt"

	units "github.com/docker/go-units"
)

// Message is one line of the daemon's stream.
type Message struct {
	Stream          string           `json:"stream,omitempty"`
	Status          string           `json:"status,omitempty"`
	Progress        *Progress        `json:"progressDetail,omitempty"`
	ProgressMessage string           `json:"progress,omitempty"`
	ID              string           `json:"id,omitempty"`
	From            string           `json:"from,omitempty"`
	Time            int64            `json:"time,omitempty"`
	TimeNano        int64            `json:"timeNano,omitempty"`
	Error           *ErrorDetail     `json:"errorDetail,omitempty"`
	ErrorMessage    string           `json:"error,omitempty"`
	Aux             *json.RawMessage `json:"aux,omitempty"`
}

// Progress is a message's progressDetail.
type Progress struct {
	Current    int64  `json:"current,omitempty"`
	Total      int64  `json:"total,omitempty"`
	Start      int64  `json:"start,omitempty"`
	HideCounts bool   `json:"hidecounts,omitempty"`
	Units      string `json:"units,omitempty"`
}

// Empty reports whether the progress carries no numbers; docker prints
// such messages as plain status lines even outside a terminal.
func (p *Progress) Empty() bool { return p.Current <= 0 && p.Total <= 0 }

// ErrorDetail is a message's errorDetail; it ends the build.
type ErrorDetail struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// StreamError is a build failure the daemon reported in the stream. Code
// is the exit status docker would use (never 0).
type StreamError struct {
	Code    int
	Message string
}

func (e *StreamError) Error() string { return e.Message }

// HumanSize formats n as docker does in progress lines: decimal units, four
// significant digits, right-aligned in eight columns.
func HumanSize(n int64) string {
	return fmt.Sprintf("%8v", units.HumanSize(float64(n)))
}
