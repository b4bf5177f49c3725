package engine

import (
	"fmt"
	"time"
)

// ConnectionError means no daemon could be reached at Host.
type ConnectionError struct {
	Host string
	Err  error // optional detail replacing the standard sentence
	// Cause is the transport's error behind the sentence (the dial's), for
	// callers that word it as another client does.
	Cause error
}

func (e *ConnectionError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	if e.Host == "" {
		return "Cannot connect to the Docker daemon. Is the docker daemon running on this host?"
	}
	return fmt.Sprintf("Cannot connect to the Docker daemon at %s. Is the docker daemon running?", e.Host)
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// TransportError is any other failure to exchange a request.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return "error during connect: " + e.Err.Error() }

func (e *TransportError) Unwrap() error { return e.Err }

// APIError is an HTTP error status from the daemon.
type APIError struct {
	StatusCode int
	Message    string
	// Bare errors are printed without the "Error response from daemon" prefix.
	Bare bool
}

func (e *APIError) Error() string {
	if e.Bare {
		return e.Message
	}
	return "Error response from daemon: " + e.Message
}

// HTTPStatus is the daemon's status code.
func (e *APIError) HTTPStatus() int { return e.StatusCode }

// TimeoutError is a daemon that accepted the connection but stopped
// answering for longer than the configured timeout.
type TimeoutError struct {
	Host  string
	What  string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the Docker daemon at %s did not %s within %s (set MYBUILD_TIMEOUT to wait longer, 0 to wait forever)", e.Host, e.What, e.After)
}
