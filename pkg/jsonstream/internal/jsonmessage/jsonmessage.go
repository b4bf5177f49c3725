// Package jsonmessage holds the types the daemon's stream is decoded into.
// They live in a package of this name, with docker's type names, because
// encoding/json names the package and the types in its errors, and docker
// build prints those errors: a bad line must read "json: cannot unmarshal
// string into Go struct field JSONMessage.time of type int64" or "… into Go
// value of type jsonmessage.JSONMessage", as it does with docker.
package jsonmessage

import "encoding/json"

// JSONMessage is one line of the daemon's stream.
type JSONMessage struct {
	Stream          string           `json:"stream,omitempty"`
	Status          string           `json:"status,omitempty"`
	Progress        *JSONProgress    `json:"progressDetail,omitempty"`
	ProgressMessage string           `json:"progress,omitempty"`
	ID              string           `json:"id,omitempty"`
	From            string           `json:"from,omitempty"`
	Time            int64            `json:"time,omitempty"`
	TimeNano        int64            `json:"timeNano,omitempty"`
	Error           *JSONError       `json:"errorDetail,omitempty"`
	ErrorMessage    string           `json:"error,omitempty"`
	Aux             *json.RawMessage `json:"aux,omitempty"`
}

// JSONProgress is a message's progressDetail.
type JSONProgress struct {
	Current    int64  `json:"current,omitempty"`
	Total      int64  `json:"total,omitempty"`
	Start      int64  `json:"start,omitempty"`
	HideCounts bool   `json:"hidecounts,omitempty"`
	Units      string `json:"units,omitempty"`
}

// Empty reports whether the progress carries no numbers; docker prints
// such messages as plain status lines even outside a terminal.
func (p *JSONProgress) Empty() bool { return p.Current <= 0 && p.Total <= 0 }

// JSONError is a message's errorDetail; it ends the build.
type JSONError struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}
