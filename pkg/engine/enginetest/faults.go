package enginetest

import (
	"io"
	"net"
	"net/http"
)

// faults is the misbehaviour a daemon is scripted to show, set by the
// options of this file. The zero value is a well-behaved daemon.
type faults struct {
	hang bool // every request is accepted and never answered
	// upload is what /build does once it has read cutAfter bytes of the
	// body (all of it when cutAfter is negative).
	upload   uploadFault
	cutAfter int64
	// truncate drops the connection after the /build answer's body,
	// without the end of the chunked response.
	truncate bool
}

type uploadFault int

const (
	uploadOK uploadFault = iota
	uploadStall
	uploadReset
)

// WithHang makes the daemon accept every request, pings included, and
// never answer it: the handler waits, without reading a request body,
// until the client goes away (which it notices for requests without a body
// or whose body it has read) or the server stops (see Serve), and then
// drops the connection. This is a daemon that is stuck but still holds its
// socket; docker waits forever.
func WithHang() Option {
	return func(c *config) { c.faults.hang = true }
}

// WithBuildHang makes /build read the first afterBytes bytes of the build
// context (all of it when afterBytes is negative), then stop reading and
// never answer, as WithHang does. Pings are
// answered as usual. With afterBytes >= 0 the client sees an upload that
// stalls once the connection's buffers are full; with a negative one it
// waits for response headers that never come. The request is recorded with
// the bytes read.
func WithBuildHang(afterBytes int64) Option {
	return func(c *config) { c.faults.upload, c.faults.cutAfter = uploadStall, afterBytes }
}

// WithResetDuringUpload makes /build read the first afterBytes bytes of the
// build context, then drop the connection without answering: with a TCP
// reset (SO_LINGER 0) over TCP, a plain close over a unix socket (the
// client's next write fails with "broken pipe" or "connection reset by
// peer"). The request is recorded with the bytes read.
func WithResetDuringUpload(afterBytes int64) Option {
	return func(c *config) { c.faults.upload, c.faults.cutAfter = uploadReset, max(afterBytes, 0) }
}

// WithTruncatedStream makes /build answer 200 with body (JSON lines, or
// anything else) and then close the connection without ending the chunked
// response, as a daemon that dies in the middle of a build. Cut body in
// the middle of a line to also leave the last message incomplete.
func WithTruncatedStream(body []byte) Option {
	return func(c *config) {
		WithStream(body)(c)
		c.faults.truncate = true
	}
}

// hang blocks until the client goes away or a server of the daemon stops,
// then drops the connection: the request is never answered.
func (d *Daemon) hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-d.stopped:
	}
	dropConnection(w, true)
}

// stopHangs ends every hanging request, now and later; Serve's stop calls
// it so that a scripted hang never holds up a server's shutdown.
func (d *Daemon) stopHangs() {
	d.stopOnce.Do(func() { close(d.stopped) })
}

// limitUpload makes the body end after the bytes an upload fault lets
// through, so that the request is recorded with what was read.
func (d *Daemon) limitUpload(r *http.Request) {
	if f := d.cfg.faults; f.upload != uploadOK && f.cutAfter >= 0 {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(r.Body, f.cutAfter), r.Body}
	}
}

// breakUpload carries out an upload fault once the allowed bytes have been
// read, and reports whether it did (the request is then not answered).
func (d *Daemon) breakUpload(w http.ResponseWriter, r *http.Request) bool {
	switch d.cfg.faults.upload {
	case uploadStall:
		d.hang(w, r)
		return true
	case uploadReset:
		dropConnection(w, true)
		return true
	}
	return false
}

// endStream drops the connection after an answer when the stream is to be
// truncated.
func (d *Daemon) endStream(w http.ResponseWriter) {
	if d.cfg.faults.truncate {
		dropConnection(w, false)
	}
}

// dropConnection closes the request's connection under the server's feet.
// Without reset, what was written is flushed first and a TCP connection
// ends with a FIN; with reset nothing more is sent and a TCP connection ends
// with a RST. A ResponseWriter that cannot be hijacked (an
// httptest.ResponseRecorder) is left alone.
func dropConnection(w http.ResponseWriter, reset bool) {
	rc := http.NewResponseController(w)
	if !reset {
		// Hijack would drop the response's own buffer.
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
