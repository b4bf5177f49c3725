// Package jsonstream decodes the Docker daemon's JSON message stream and
// renders it as the docker CLI does, and formats upload progress lines.
package jsonstream

import (
	"encoding/json"
	"fmt"

	units "github.com/docker/go-units"

	"github.com/mybuild/mybuild/pkg/jsonstream/internal/build"
	"github.com/mybuild/mybuild/pkg/jsonstream/internal/jsonmessage"
)

// Message is one line of the daemon's stream, Progress its progressDetail
// and ErrorDetail its errorDetail (which ends the build). They are aliases
// of types named as docker names them, so that decoding errors read the
// same (see package jsonmessage).
type (
	Message     = jsonmessage.JSONMessage
	Progress    = jsonmessage.JSONProgress
	ErrorDetail = jsonmessage.JSONError
)

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

// ImageID reads the image ID from an aux payload as docker build does; its
// error is the text docker prints after "Failed to parse aux message: ".
func ImageID(aux json.RawMessage) (string, error) {
	var r build.Result
	if err := json.Unmarshal(aux, &r); err != nil {
		return "", err
	}
	return r.ID, nil
}
