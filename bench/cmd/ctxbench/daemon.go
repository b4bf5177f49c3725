package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// record is what the draining daemon saw of one client run. Times are
// absolute; the runner turns them into durations relative to the process
// start it recorded itself.
type record struct {
	PingAt      time.Time // first /_ping
	HeadersAt   time.Time // POST /build handler entered (request headers parsed)
	FirstByteAt time.Time // first body byte read
	EndAt       time.Time // body fully drained
	Bytes       int64     // body bytes (after chunked decoding; the tar or gzip stream)
	Gzip        bool      // body starts with the gzip magic
	Query       string
	ContentType string
	Unexpected  []string // requests the daemon does not implement
	Err         string   // error while draining

	// Filled only when the run asked for verification: the names of the
	// tar entries (after gunzip when the body is compressed).
	Names []string
}

// daemon is a minimal Docker Engine API endpoint that drains build contexts.
type daemon struct {
	ln  net.Listener
	srv *http.Server

	mu     sync.Mutex
	cur    *record
	verify bool

	onBuild func(record) // called after each drained build, if set
}

// startDaemon serves the daemon on addr ("127.0.0.1:0" for the in-process
// comparison; bench/netns.sh listens on an address in its own network
// namespace).
func startDaemon(addr string) (*daemon, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	d := &daemon{ln: ln}
	d.srv = &http.Server{Handler: d, ReadHeaderTimeout: 30 * time.Second}
	go d.srv.Serve(ln)
	return d, nil
}

func (d *daemon) addr() string { return d.ln.Addr().String() }

func (d *daemon) close() { d.srv.Close() }

// begin starts recording a new run; end returns what was recorded.
func (d *daemon) begin(verify bool) {
	d.mu.Lock()
	d.cur = &record{}
	d.verify = verify
	d.mu.Unlock()
}

func (d *daemon) end() record {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := *d.cur
	d.cur = &record{}
	return r
}

func (d *daemon) update(f func(r *record)) {
	d.mu.Lock()
	if d.cur == nil {
		d.cur = &record{}
	}
	f(d.cur)
	d.mu.Unlock()
}

const fakeID = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func (d *daemon) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	path := req.URL.Path
	switch {
	case path == "/_ping" || strings.HasSuffix(path, "/_ping"):
		d.update(func(r *record) {
			if r.PingAt.IsZero() {
				r.PingAt = now
			}
		})
		h := w.Header()
		h.Set("Api-Version", "1.41")
		h.Set("Ostype", "linux")
		h.Set("Docker-Experimental", "false")
		h.Set("Builder-Version", "1")
		h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		if req.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		io.WriteString(w, "OK")
	case req.Method == http.MethodPost && strings.HasPrefix(path, "/v") && strings.HasSuffix(path, "/build"):
		d.build(w, req, now)
	default:
		d.update(func(r *record) { r.Unexpected = append(r.Unexpected, req.Method+" "+req.URL.String()) })
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"ctxbench: %s %s not implemented"}`+"\n", req.Method, path)
	}
}

func (d *daemon) build(w http.ResponseWriter, req *http.Request, headersAt time.Time) {
	d.mu.Lock()
	verify := d.verify
	d.mu.Unlock()

	var (
		first    time.Time
		n        int64
		isGzip   bool
		drainErr error
		names    []string
	)
	buf := make([]byte, 1<<20)
	var pw *io.PipeWriter
	var verifyDone chan []string
	if verify {
		// Verification runs are untimed: parse the stream to list its entries.
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		verifyDone = make(chan []string, 1)
		go func() {
			verifyDone <- listEntries(pr)
			io.Copy(io.Discard, pr)
		}()
	}
	for {
		m, err := req.Body.Read(buf)
		if m > 0 {
			if n == 0 {
				first = time.Now()
				isGzip = m >= 2 && buf[0] == 0x1f && buf[1] == 0x8b
			}
			n += int64(m)
			if pw != nil {
				pw.Write(buf[:m])
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			drainErr = err
			break
		}
	}
	end := time.Now()
	if pw != nil {
		pw.Close()
		names = <-verifyDone
	}
	d.update(func(r *record) {
		r.HeadersAt = headersAt
		r.FirstByteAt = first
		r.EndAt = end
		r.Bytes = n
		r.Gzip = isGzip
		r.Query = req.URL.RawQuery
		r.ContentType = req.Header.Get("Content-Type")
		r.Names = names
		if drainErr != nil {
			r.Err = drainErr.Error()
		}
	})
	if d.onBuild != nil {
		d.onBuild(record{HeadersAt: headersAt, FirstByteAt: first, EndAt: end, Bytes: n, Gzip: isGzip})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `{"stream":"Step 1/1 : FROM scratch\n"}`+"\n")
	io.WriteString(w, `{"stream":"Successfully built 0123456789ab\n"}`+"\n")
	io.WriteString(w, `{"aux":{"ID":"`+fakeID+`"}}`+"\n")
}

// listEntries returns the entry names of a tar stream, gunzipping first when
// the stream is gzip-compressed. Errors are reported as a pseudo-entry.
func listEntries(r io.Reader) []string {
	br := bufio.NewReaderSize(r, 1<<16)
	var tr *tar.Reader
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return []string{"!gzip error: " + err.Error()}
		}
		tr = tar.NewReader(zr)
	} else {
		tr = tar.NewReader(br)
	}
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			return append(names, "!tar error: "+err.Error())
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
	}
}
