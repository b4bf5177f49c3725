package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"
)

// proxy sits between a client and the daemon on loopback and counts what
// the client sends (every connection: pings, /grpc, /session). On a
// hijacked POST /session it reads the HTTP/2 frames both ways to time the
// first DATA frame the client sends on a FileSync stream: the first byte of
// the context transfer.
type proxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	sent      atomic.Int64 // client → daemon bytes
	fileBytes int64        // DATA payload the client sent on FileSync streams
	active    sync.WaitGroup
	firstFile time.Time // first FileSync DATA frame from the client
	sessions  int       // /session hijacks seen
	requests  []string  // request lines, for diagnosis
}

func startProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// proxyRecord is what one client run sent.
type proxyRecord struct {
	Sent      int64
	FileBytes int64
	FirstFile time.Time
	Sessions  int
	Requests  []string
}

// reset starts a new run's counters.
func (p *proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent.Store(0)
	p.firstFile, p.sessions, p.requests, p.fileBytes = time.Time{}, 0, nil, 0
}

// end waits (bounded) for the run's connections to close and returns its
// record.
func (p *proxy) end() proxyRecord {
	done := make(chan struct{})
	go func() { p.active.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return proxyRecord{Sent: p.sent.Load(), FileBytes: p.fileBytes, FirstFile: p.firstFile, Sessions: p.sessions, Requests: p.requests}
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.active.Add(1)
		go p.handle(c)
	}
}

func (p *proxy) handle(c net.Conn) {
	defer p.active.Done()
	defer c.Close()
	d, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer d.Close()
	w := newSessionWatch(p)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // daemon → client
		defer wg.Done()
		copyWith(c, d, w.fromDaemon)
		closeWrite(c)
	}()
	copyWith(d, c, func(b []byte) { // client → daemon
		p.sent.Add(int64(len(b)))
		w.fromClient(b)
	})
	closeWrite(d)
	wg.Wait()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// copyWith copies src to dst, showing each chunk to seen before it is
// forwarded (so that a frame is parsed before the peer can answer it).
func copyWith(dst io.Writer, src io.Reader, seen func([]byte)) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			seen(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// sessionWatch follows one proxied connection: its HTTP/1.1 request line,
// and after an upgrade of POST /session, the HTTP/2 frames of both sides.
type sessionWatch struct {
	p         *proxy
	mu        sync.Mutex
	isSession bool
	client    *frameReader // the client is the session's gRPC server
	daemon    *frameReader
	hdec      *hpack.Decoder
	path      string
	fileSync  map[uint32]bool // stream IDs of FileSync calls
	head      []byte          // the client's request line, until it is complete
	headDone  bool
}

func newSessionWatch(p *proxy) *sessionWatch {
	w := &sessionWatch{p: p, fileSync: map[uint32]bool{}}
	w.hdec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":path" {
			w.path = f.Value
		}
	})
	// The client's side: HTTP request headers, then server frames (no
	// preface). The daemon's: the 101 response, the client preface, frames.
	w.client = &frameReader{skipHTTP: true, onFrame: w.clientFrame}
	w.daemon = &frameReader{skipHTTP: true, preface: len(http2Preface), onFrame: w.daemonFrame}
	return w
}

const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

func (w *sessionWatch) fromClient(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.headDone {
		w.head = append(w.head, b...)
		if i := bytes.IndexByte(w.head, '\n'); i >= 0 {
			w.headDone = true
			line := strings.TrimSpace(string(w.head[:i]))
			fields := strings.Fields(line)
			w.isSession = len(fields) >= 2 && fields[0] == "POST" && strings.HasSuffix(fields[1], "/session")
			w.p.mu.Lock()
			w.p.requests = append(w.p.requests, line)
			if w.isSession {
				w.p.sessions++
			}
			w.p.mu.Unlock()
			if w.isSession {
				w.client.feed(w.head)
			}
			w.head = nil
		} else if len(w.head) > 8<<10 {
			w.headDone = true // not HTTP/1.1 (native gRPC): nothing to follow
			w.head = nil
		}
		return
	}
	if w.isSession {
		w.client.feed(b)
	}
}

func (w *sessionWatch) fromDaemon(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.isSession {
		w.daemon.feed(b)
	}
}

// daemonFrame: the daemon opens calls; HEADERS name their method.
func (w *sessionWatch) daemonFrame(f frame) {
	if f.typ != frameHeaders && f.typ != frameContinuation {
		return
	}
	frag := f.payload
	if f.typ == frameHeaders {
		var ok bool
		if frag, ok = headerFragment(f); !ok {
			return
		}
		w.path = ""
	}
	_, _ = w.hdec.Write(frag)
	if f.flags&flagEndHeaders != 0 {
		_ = w.hdec.Close()
		if strings.Contains(w.path, "/moby.filesync.v1.FileSync/") {
			w.fileSync[f.stream] = true
		}
	}
}

func (w *sessionWatch) clientFrame(f frame) {
	if f.typ != frameData || len(f.payload) == 0 || !w.fileSync[f.stream] {
		return
	}
	now := time.Now()
	w.p.mu.Lock()
	if w.p.firstFile.IsZero() {
		w.p.firstFile = now
	}
	w.p.fileBytes += int64(len(f.payload))
	w.p.mu.Unlock()
}

const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameContinuation = 0x9
	flagEndHeaders    = 0x4
	flagPadded        = 0x8
	flagPriority      = 0x20
)

type frame struct {
	typ, flags byte
	stream     uint32
	payload    []byte
}

// headerFragment strips a HEADERS frame's padding and priority fields.
func headerFragment(f frame) ([]byte, bool) {
	p := f.payload
	pad := 0
	if f.flags&flagPadded != 0 {
		if len(p) < 1 {
			return nil, false
		}
		pad = int(p[0])
		p = p[1:]
	}
	if f.flags&flagPriority != 0 {
		if len(p) < 5 {
			return nil, false
		}
		p = p[5:]
	}
	if pad > len(p) {
		return nil, false
	}
	return p[:len(p)-pad], true
}

// frameReader splits one direction of a connection into HTTP/2 frames:
// first it skips an HTTP/1.1 head (through the blank line) and a preface
// when asked, then calls onFrame for each complete frame.
type frameReader struct {
	skipHTTP bool
	preface  int
	buf      []byte
	onFrame  func(frame)
}

func (r *frameReader) feed(b []byte) {
	r.buf = append(r.buf, b...)
	if r.skipHTTP {
		i := bytes.Index(r.buf, []byte("\r\n\r\n"))
		if i < 0 {
			return
		}
		r.buf, r.skipHTTP = r.buf[i+4:], false
	}
	if r.preface > 0 {
		n := min(r.preface, len(r.buf))
		r.buf, r.preface = r.buf[n:], r.preface-n
		if r.preface > 0 {
			return
		}
	}
	for len(r.buf) >= 9 {
		n := int(r.buf[0])<<16 | int(r.buf[1])<<8 | int(r.buf[2])
		if len(r.buf) < 9+n {
			break
		}
		r.onFrame(frame{typ: r.buf[3], flags: r.buf[4],
			stream:  binary.BigEndian.Uint32(r.buf[5:9]) & 0x7fffffff,
			payload: r.buf[9 : 9+n]})
		r.buf = r.buf[9+n:]
	}
	if len(r.buf) == 0 {
		r.buf = nil // don't pin a big chunk
	} else {
		r.buf = append([]byte(nil), r.buf...)
	}
}
