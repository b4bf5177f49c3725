package enginetest

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Option configures a Daemon. Options are applied in order by New; a later
// option overrides an earlier one that sets the same thing.
type Option func(*config)

// config is what the options set. Fault injection (hangs, stalled uploads,
// dropped connections) is in faults, set by the options of faults.go.
type config struct {
	apiVersion      string // "" omits the Api-Version header
	osType          string
	experimental    string
	builderVersion  string // "" omits the Builder-Version header
	libpodVersion   string // Podman's Libpod-Api-Version header; "" omits it
	server          string
	pingStatus      int
	build           *response // nil: the default stream
	lineDelay       time.Duration
	checkAPIVersion bool
	contentLimit    int64 // bytes of each entry's content kept in Entry.Content
	faults          faults
	err             error // the first error of an option, reported by Err
}

// response is a scripted answer to /build.
type response struct {
	status      int
	contentType string
	body        []byte
}

func defaultConfig() config {
	return config{
		apiVersion:      DefaultAPIVersion,
		osType:          "linux",
		experimental:    "false",
		builderVersion:  "1",
		server:          DefaultServer,
		pingStatus:      200,
		checkAPIVersion: true,
	}
}

// DefaultAPIVersion is the Api-Version the daemon advertises unless told
// otherwise: Engine 20.10's.
const DefaultAPIVersion = "1.41"

// DefaultServer is the Server header the daemon sends unless told otherwise.
const DefaultServer = "Docker/20.10.24 (linux)"

// WithAPIVersion sets the Api-Version header of every response.
func WithAPIVersion(v string) Option {
	return func(c *config) { c.apiVersion = v }
}

// WithoutAPIVersion omits the Api-Version header (a docker 28 client then
// falls back to API 1.24).
func WithoutAPIVersion() Option {
	return func(c *config) { c.apiVersion = "" }
}

// WithOSType sets the Ostype header ("linux" by default).
func WithOSType(os string) Option {
	return func(c *config) { c.osType = os }
}

// WithExperimental sets the Docker-Experimental header ("false" by default).
func WithExperimental(on bool) Option {
	return func(c *config) { c.experimental = fmt.Sprint(on) }
}

// WithBuilderVersion sets the Builder-Version header of the ping ("1" by
// default); "" omits it.
func WithBuilderVersion(v string) Option {
	return func(c *config) { c.builderVersion = v }
}

// WithPodman makes the ping answer as Podman's Docker-compatible API does:
// a Libpod-Api-Version header (here 4.3.1's) and an empty Builder-Version.
func WithPodman() Option {
	return func(c *config) { c.libpodVersion, c.builderVersion = "4.3.1", "" }
}

// WithServer sets the Server header (DefaultServer by default).
func WithServer(s string) Option {
	return func(c *config) { c.server = s }
}

// WithPingStatus makes /_ping answer with the given status code (200 by
// default). The usual headers are still sent, as a real daemon's middleware
// does; a GET gets a JSON error body unless the status is 200.
func WithPingStatus(code int) Option {
	return func(c *config) { c.pingStatus = code }
}

// WithBuildResponse makes /build answer with a fixed status, content type
// and body (for example JSON lines, or a plain-text error). The body is
// replayed byte for byte.
func WithBuildResponse(status int, contentType string, body []byte) Option {
	return func(c *config) {
		c.build = &response{status: status, contentType: contentType, body: body}
	}
}

// WithBuildError makes /build fail with status and the daemon's JSON error
// body {"message": msg}.
func WithBuildError(status int, msg string) Option {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	return WithBuildResponse(status, "application/json", append(b, '\n'))
}

// WithStream makes /build answer 200 with the given JSON-lines body.
func WithStream(body []byte) Option {
	return WithBuildResponse(200, "application/json", body)
}

// WithStreamFile makes /build answer 200 with the contents of the file at
// path, as JSON lines. A read error is reported by Err, ListenUnix,
// ListenTCP and Start, and makes every request fail with status 500.
func WithStreamFile(path string) Option {
	body, err := os.ReadFile(path)
	return func(c *config) {
		if err != nil {
			if c.err == nil {
				c.err = fmt.Errorf("enginetest: WithStreamFile: %w", err)
			}
			return
		}
		WithStream(body)(c)
	}
}

// WithRecordedStream makes /build answer 200 with one of the streams
// recorded from a real Engine 20.10 daemon (see RecordedStreams). An unknown
// name is reported like a WithStreamFile read error.
func WithRecordedStream(name string) Option {
	body, err := RecordedStream(name)
	return func(c *config) {
		if err != nil {
			if c.err == nil {
				c.err = err
			}
			return
		}
		WithStream(body)(c)
	}
}

// WithLineDelay makes the daemon wait d before each line of the /build
// response after the first, flushing every line, as a daemon running a slow
// build does.
func WithLineDelay(d time.Duration) Option {
	return func(c *config) { c.lineDelay = d }
}

// WithoutVersionCheck turns off the real daemon's check that the API version
// in a request's path is not newer than its own (a 400 "client version X is
// too new" otherwise).
func WithoutVersionCheck() Option {
	return func(c *config) { c.checkAPIVersion = false }
}

// WithEntryContent makes the daemon keep up to limit bytes of each tar
// entry's content in Entry.Content (nothing is kept by default; the SHA256
// is always recorded).
func WithEntryContent(limit int64) Option {
	return func(c *config) { c.contentLimit = limit }
}
