package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Headers is a HEADERS frame opening stream id for path.
func h2Headers(t *testing.T, fr *http2.Framer, enc *hpack.Encoder, hbuf *bytes.Buffer, id uint32, path string, padded bool) {
	t.Helper()
	hbuf.Reset()
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":path", Value: path}, {Name: "content-type", Value: "application/grpc"}} {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	p := http2.HeadersFrameParam{StreamID: id, BlockFragment: bytes.Clone(hbuf.Bytes()), EndHeaders: true}
	if padded {
		p.PadLength = 3
		p.Priority = http2.PriorityParam{StreamDep: 0, Weight: 15}
	}
	if err := fr.WriteHeaders(p); err != nil {
		t.Fatal(err)
	}
}

func TestSessionWatch(t *testing.T) {
	// The daemon's side of a hijacked /session: the 101 response, the
	// client preface, SETTINGS, then two calls: FileSync (stream 1, its
	// HEADERS padded and with a priority) and Health (stream 3).
	var fromDaemon bytes.Buffer
	fromDaemon.WriteString("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" + http2Preface)
	dfr := http2.NewFramer(&fromDaemon, nil)
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	if err := dfr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	h2Headers(t, dfr, enc, &hbuf, 3, "/grpc.health.v1.Health/Check", false)
	h2Headers(t, dfr, enc, &hbuf, 1, "/moby.filesync.v1.FileSync/DiffCopy", true)

	// The client's side: the request, then its server frames.
	var fromClient bytes.Buffer
	fromClient.WriteString("POST /v1.56/session HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
	cfr := http2.NewFramer(&fromClient, nil)
	if err := cfr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	_ = cfr.WriteData(3, false, []byte("health answer"))
	_ = cfr.WriteData(1, false, make([]byte, 20000))
	_ = cfr.WriteData(1, true, []byte("last"))

	tests := []struct {
		name  string
		chunk int // bytes per feed: frames split across reads
	}{
		{"whole", 1 << 20},
		{"bytewise", 1},
		{"odd", 7},
		{"frame-sized", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &proxy{}
			w := newSessionWatch(p)
			feed := func(f func([]byte), b []byte) {
				for len(b) > 0 {
					n := min(tt.chunk, len(b))
					f(b[:n])
					b = b[n:]
				}
			}
			// As on the wire: the request first, then the daemon's side
			// (which names the calls), then the client's answers.
			req := fromClient.Bytes()
			head := bytes.Index(req, []byte("\r\n\r\n")) + 4
			feed(w.fromClient, req[:head])
			feed(w.fromDaemon, fromDaemon.Bytes())
			before := time.Now()
			feed(w.fromClient, req[head:])
			got := struct {
				Sessions  int
				Requests  []string
				FileBytes int64
				Timed     bool
			}{p.sessions, p.requests, p.fileBytes, !p.firstFile.Before(before)}
			want := struct {
				Sessions  int
				Requests  []string
				FileBytes int64
				Timed     bool
			}{1, []string{"POST /v1.56/session HTTP/1.1"}, 20004, true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSessionWatchIgnoresOtherRequests(t *testing.T) {
	p := &proxy{}
	w := newSessionWatch(p)
	w.fromClient([]byte("POST /v1.56/grpc HTTP/1.1\r\nUpgrade: h2c\r\n\r\n" + http2Preface))
	w.fromDaemon([]byte("HTTP/1.1 101 UPGRADED\r\n\r\n"))
	w.fromClient([]byte{0, 0, 4, frameData, 0, 0, 0, 0, 1, 'a', 'b', 'c', 'd'})
	if diff := cmp.Diff([]string{"POST /v1.56/grpc HTTP/1.1"}, p.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if p.sessions != 0 || p.fileBytes != 0 || !p.firstFile.IsZero() {
		t.Errorf("a /grpc connection was taken for a session: %+v", p)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name     string
		line     string
		wantPPID int
		wantCPU  time.Duration
		wantOK   bool
	}{
		{"dockerd", "28707 (dockerd) S 1 28707 28707 0 -1 4194560 1 0 0 0 150 50 7 3 20 0 30 0 1 1 1", 1, 2100 * time.Millisecond, true},
		{"name with spaces and parens", "42 (a (b) c) R 7 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0", 7, 100 * time.Millisecond, true},
		{"truncated", "42 (x) R 7 1", 0, 0, false},
		{"garbage", "nothing", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ppid, cpu, ok := parseStat(tt.line)
			if diff := cmp.Diff([]any{tt.wantPPID, tt.wantCPU, tt.wantOK}, []any{ppid, cpu, ok}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
