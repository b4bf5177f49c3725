// Package enginetest is an in-process fake Docker daemon for tests: an
// http.Handler that answers the requests a `docker build` client on the
// legacy builder path makes (/_ping and /build), records what it received
// (query, headers and the tar entries of the build context) and replays a
// scripted build stream.
//
// The defaults imitate Engine 20.10.24 (API 1.41): a ping advertising API
// 1.41, a non-experimental linux daemon, and a successful build stream for
// `FROM scratch` + one LABEL step, recorded from a real daemon.
package enginetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/mybuild/mybuild/pkg/engine"
)

// Daemon is a fake Docker daemon. It is safe for concurrent use. The zero
// value is not usable; call New.
type Daemon struct {
	cfg config

	mu       sync.Mutex
	idle     *sync.Cond // signalled when inflight drops to zero
	inflight int
	calls    []Call
	builds   []Request

	stopped  chan struct{} // closed when a server stops: hanging requests end
	stopOnce sync.Once
}

// New returns a daemon configured by opts.
func New(opts ...Option) *Daemon {
	d := &Daemon{cfg: defaultConfig(), stopped: make(chan struct{})}
	for _, o := range opts {
		o(&d.cfg)
	}
	d.idle = sync.NewCond(&d.mu)
	return d
}

// Err reports an error from applying the options (e.g. WithStreamFile
// could not read its file). A daemon with an error answers every request
// with status 500.
func (d *Daemon) Err() error { return d.cfg.err }

// Calls returns every request received so far, pings included, in order.
func (d *Daemon) Calls() []Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Call(nil), d.calls...)
}

// Requests returns the /build requests received so far, in order.
func (d *Daemon) Requests() []Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Request(nil), d.builds...)
}

// Wait blocks until no request is being handled. Call it after the client
// has finished, before looking at Calls and Requests, so that a request
// whose client gave up is fully recorded. A request held by a scripted hang
// (faults.go) may only end when the server stops.
func (d *Daemon) Wait() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.inflight > 0 {
		d.idle.Wait()
	}
}

var buildPath = regexp.MustCompile(`^(?:/v([0-9]+(?:\.[0-9]+)*))?/build$`)

// ServeHTTP implements http.Handler.
func (d *Daemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.inflight++
	d.calls = append(d.calls, Call{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Host:     r.Host,
		Header:   r.Header.Clone(),
	})
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.inflight--
		if d.inflight == 0 {
			d.idle.Broadcast()
		}
		d.mu.Unlock()
	}()

	if d.cfg.err != nil {
		http.Error(w, d.cfg.err.Error(), http.StatusInternalServerError)
		return
	}
	if d.cfg.faults.hang {
		d.hang(w, r)
		return
	}
	switch {
	case r.URL.Path == "/_ping" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		d.ping(w, r)
	case r.Method == http.MethodPost && buildPath.MatchString(r.URL.Path):
		d.build(w, r, buildPath.FindStringSubmatch(r.URL.Path)[1])
	default:
		// The real daemon's 404 carries none of the version headers.
		writeJSONError(w, http.StatusNotFound, "page not found")
	}
}

// setHeaders sets the headers the real daemon's middleware puts on every
// answer of a known route.
func (d *Daemon) setHeaders(h http.Header) {
	if d.cfg.apiVersion != "" {
		h.Set("Api-Version", d.cfg.apiVersion)
	}
	h.Set("Docker-Experimental", d.cfg.experimental)
	h.Set("Ostype", d.cfg.osType)
	h.Set("Server", d.cfg.server)
}

func (d *Daemon) ping(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	d.setHeaders(h)
	if d.cfg.builderVersion != "" {
		h.Set("Builder-Version", d.cfg.builderVersion)
	}
	if d.cfg.libpodVersion != "" {
		h.Set("Libpod-Api-Version", d.cfg.libpodVersion)
	}
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	if d.cfg.pingStatus != http.StatusOK {
		writeJSONError(w, d.cfg.pingStatus, fmt.Sprintf("enginetest: ping fails with status %d", d.cfg.pingStatus))
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("OK"))
}

func (d *Daemon) build(w http.ResponseWriter, r *http.Request, version string) {
	d.limitUpload(r)
	req := recordBuild(r, d.cfg.contentLimit)
	d.mu.Lock()
	d.builds = append(d.builds, req)
	d.mu.Unlock()
	if d.breakUpload(w, r) {
		return
	}

	d.setHeaders(w.Header())
	if d.cfg.checkAPIVersion && version != "" && d.cfg.apiVersion != "" && engine.VersionLess(d.cfg.apiVersion, version) {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", version, d.cfg.apiVersion))
		return
	}
	resp := d.cfg.build
	if resp == nil {
		if req.Query.Get("squash") == "1" && d.cfg.experimental != "true" {
			writeJSONError(w, http.StatusBadRequest, "squash is only supported with experimental mode")
			return
		}
		resp = &response{
			status:      http.StatusOK,
			contentType: "application/json",
			body:        DefaultStream(req.Query.Get("q") == "1", req.Query["t"]),
		}
	}
	if resp.contentType != "" {
		w.Header().Set("Content-Type", resp.contentType)
	}
	w.WriteHeader(resp.status)
	d.replay(w, r, resp.body)
	d.endStream(w)
}

// replay writes body, line by line with the configured delay in between.
func (d *Daemon) replay(w http.ResponseWriter, r *http.Request, body []byte) {
	if d.cfg.lineDelay <= 0 {
		_, _ = w.Write(body)
		return
	}
	rc := http.NewResponseController(w)
	for i, line := range bytes.SplitAfter(body, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if i > 0 {
			t := time.NewTimer(d.cfg.lineDelay)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if _, err := w.Write(line); err != nil {
			return
		}
		_ = rc.Flush()
	}
}

// writeJSONError writes the daemon's error body, {"message":"..."}.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{msg})
}
