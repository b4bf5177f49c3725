package remotecontext

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/pkg/buildcontext"
)

// dockerOutput returns what docker 28.2.2 printed to stdout (not a
// terminal) while downloading a context, captured with
//
//	DOCKER_BUILDKIT=0 docker -H tcp://127.0.0.1:<fake daemon> build <url> > out.bin
//
// and cut to the download lines; capturedURL is replaced by url.
func dockerOutput(t *testing.T, name, capturedURL, url string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "docker", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte(capturedURL), []byte(url))
}

// readStep is one scripted Read result.
type readStep struct {
	n   int
	err error
}

// scriptedBody returns the steps' results in turn, then (0, io.EOF).
type scriptedBody struct {
	steps []readStep
}

func (s *scriptedBody) Read(p []byte) (int, error) {
	if len(s.steps) == 0 {
		return 0, io.EOF
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	if st.n > len(p) {
		panic(fmt.Sprintf("scripted read of %d into %d bytes", st.n, len(p)))
	}
	for i := range p[:st.n] {
		p[i] = 'x'
	}
	return st.n, st.err
}

func (s *scriptedBody) Close() error { return nil }

// dockerConsumer reads like docker's GetContextFromReader and what follows:
// bufio.NewReader + Peek(1024), then io.Copy through a plain reader (the
// request body upload, or the copy into the temporary Dockerfile).
func dockerConsumer(t *testing.T, r io.ReadCloser) {
	t.Helper()
	br := bufio.NewReader(r)
	if _, err := br.Peek(1024); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, struct{ io.Reader }{br}); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
}

// mybuildConsumer reads as mybuild does: buildcontext.FromReader, then the
// returned body to EOF.
func mybuildConsumer(t *testing.T, r io.ReadCloser) {
	t.Helper()
	body, _, err := buildcontext.FromReader(context.Background(), r, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		t.Fatal(err)
	}
	_ = body.Close()
	_ = r.Close()
}

func tarBytes(t *testing.T, size int) []byte {
	t.Helper()
	// A tar header first, so both consumers take it for an archive.
	var buf bytes.Buffer
	buf.WriteString("Dockerfile")
	buf.Write(make([]byte, 100-buf.Len()))
	buf.WriteString("0000644\x000000000\x000000000\x0000000000015\x0000000000000\x00        0")
	b := append(buf.Bytes(), make([]byte, 512-buf.Len())...)
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return append(b, make([]byte, size-len(b))...)
}

// TestProgressMatchesDocker feeds the progress reader the read results the
// HTTP client gave docker (observed with a logging reader against the same
// servers) and compares the bytes written with docker's own output.
func TestProgressMatchesDocker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		golden   string
		captured string
		size     int64
		steps    []readStep
	}{
		// Content-Length 13: the body arrives with its EOF; Peek clears the
		// EOF, so the next read asks again and gets the last update.
		{"dockerfile", "dockerfile.bin", "http://127.0.0.1:23751/Dockerfile", 13, []readStep{{13, io.EOF}}},
		// 10240-byte tar: 3900 bytes shared the first 4 KiB with the headers;
		// the rest came with EOF and nothing read again: no "\r\n".
		{"tar", "tar.bin", "http://127.0.0.1:23751/ctx.tar", 10240, []readStep{{3900, nil}, {6340, io.EOF}}},
		// Chunked: no length, just "%8v".
		{"chunked", "chunked.bin", "http://127.0.0.1:23752/chunked-df", -1, []readStep{{13, io.EOF}}},
		// Empty body: an empty rendering ends its line with "\r\n", the last
		// update adds another, and both reads print one.
		{"empty", "empty.bin", "http://127.0.0.1:23752/empty", 0, nil},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			name    string
			consume func(*testing.T, io.ReadCloser)
		}{{"docker", dockerConsumer}, {"mybuild", mybuildConsumer}} {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				steps := append([]readStep(nil), tt.steps...)
				var out bytes.Buffer
				url := "http://test.invalid/" + tt.name
				body := io.ReadCloser(&scriptedBody{steps: steps})
				if tt.name == "tar" {
					body = &fixedBody{data: tarBytes(t, 10240), steps: steps}
				}
				c.consume(t, newProgress(body, &out, "Downloading build context from remote url: "+url, tt.size, time.Now))
				want := dockerOutput(t, tt.golden, tt.captured, url)
				if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("progress output differs from docker's:\n got %q\nwant %q", out.Bytes(), want)
				}
			})
		}
	}
}

// drain reads r to EOF with a buffer large enough for any scripted read.
func drain(t *testing.T, r io.Reader) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		_, err := r.Read(buf)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// fixedBody serves data in the scripted read sizes.
type fixedBody struct {
	data  []byte
	steps []readStep
}

func (f *fixedBody) Read(p []byte) (int, error) {
	if len(f.steps) == 0 {
		return 0, io.EOF
	}
	st := f.steps[0]
	f.steps = f.steps[1:]
	n := copy(p[:st.n], f.data)
	f.data = f.data[n:]
	return n, st.err
}

func (f *fixedBody) Close() error { return nil }

func TestRenderProgress(t *testing.T) {
	t.Parallel()
	bar := func(n int) string {
		return "[" + strings.Repeat("=", n) + ">" + strings.Repeat(" ", 50-n) + "] "
	}
	tests := []struct {
		current, total int64
		want           string
	}{
		{0, 0, ""},
		{0, -1, ""},
		{13, -1, "     13B"},
		{13, 0, "     13B"},
		{557100, -1, " 557.1kB"},
		{20008960, -1, " 20.01MB"},
		{0, 13, bar(0) + "      0B/13B"},
		{13, 13, bar(50) + "     13B/13B"},
		{3900, 10240, bar(19) + "   3.9kB/10.24kB"},
		{229400, 20008960, bar(0) + " 229.4kB/20.01MB"},
		{9634000, 20008960, bar(24) + " 9.634MB/20.01MB"},
		{20, 10, bar(50) + "     20B"},
		{1 << 40, 1 << 40, bar(50) + "   1.1TB/1.1TB"},
	}
	for _, tt := range tests {
		if got := renderProgress(tt.current, tt.total); got != tt.want {
			t.Errorf("renderProgress(%d, %d) = %q, want %q", tt.current, tt.total, got, tt.want)
		}
	}
}

// TestProgressRateLimit: due updates that are neither complete nor last are
// printed at most once per 100ms (docker's rate.Limiter with burst 1).
func TestProgressRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tick   time.Duration // clock advance per rate-limited update
		counts []int64       // the counts printed
	}{
		{"fast", 0, []int64{200, 1000}},
		{"40ms", 40 * time.Millisecond, []int64{200, 800, 1000}},
		{"slow", 100 * time.Millisecond, []int64{200, 400, 600, 800, 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var steps []readStep
			for range 5 {
				steps = append(steps, readStep{200, nil})
			}
			clock := time.Unix(0, 0)
			var out bytes.Buffer
			drain(t, newProgress(&scriptedBody{steps: steps}, &out, "A", 1000, func() time.Time { clock = clock.Add(tt.tick); return clock }))
			var want strings.Builder
			for _, n := range tt.counts {
				want.WriteString("A " + renderProgress(n, 1000) + "\r")
			}
			want.WriteString("A " + renderProgress(1000, 1000) + "\r\r\n") // last: (0, EOF)
			if diff := cmp.Diff(want.String(), out.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProgressEvery512KiB: without a length, an update is due after more
// than 512 KiB.
func TestProgressEvery512KiB(t *testing.T) {
	t.Parallel()
	var steps []readStep
	for range 10 {
		steps = append(steps, readStep{200 << 10, nil})
	}
	clock := time.Unix(0, 0)
	var out bytes.Buffer
	drain(t, newProgress(&scriptedBody{steps: steps}, &out, "A", -1, func() time.Time { clock = clock.Add(time.Second); return clock }))
	var want strings.Builder
	for _, n := range []int64{600 << 10, 1200 << 10, 1800 << 10} {
		want.WriteString("A " + renderProgress(n, -1) + "\r")
	}
	want.WriteString("A " + renderProgress(2000<<10, -1) + "\r\r\n")
	if diff := cmp.Diff(want.String(), out.String()); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestDownload runs Download against real HTTP servers and compares the
// progress bytes with docker's output for the same responses.
func TestDownload(t *testing.T) {
	t.Parallel()
	peeked := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/Dockerfile", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "13")
		_, _ = io.WriteString(w, "FROM scratch\n")
	})
	mux.HandleFunc("/redir", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/Dockerfile", http.StatusFound)
	})
	mux.HandleFunc("/chunked-df", func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: chunked. The whole response in one write, as
		// in docker's captured run: the terminating chunk arrives with the
		// data, so the read that returns the data also returns EOF (with
		// a flush in between, whether it did depended on timing).
		conn, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
			"d\r\nFROM scratch\n\r\n0\r\n\r\n")
		_ = bw.Flush()
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "0")
	})
	mux.HandleFunc("/ctx.tar", func(w http.ResponseWriter, r *http.Request) {
		// The split docker saw: 3900 bytes first, the rest after the peek.
		data := tarBytes(t, 10240)
		w.Header().Set("Content-Length", "10240")
		_, _ = w.Write(data[:3900])
		w.(http.Flusher).Flush()
		<-peeked
		_, _ = w.Write(data[3900:])
	})
	srv := newServer(t, mux)

	tests := []struct {
		path, golden, captured string
	}{
		{"/Dockerfile", "dockerfile.bin", "http://127.0.0.1:23751/Dockerfile"},
		{"/redir", "redirect.bin", "http://127.0.0.1:23752/redir"},
		{"/chunked-df", "chunked.bin", "http://127.0.0.1:23752/chunked-df"},
		{"/empty", "empty.bin", "http://127.0.0.1:23752/empty"},
		{"/ctx.tar", "tar.bin", "http://127.0.0.1:23751/ctx.tar"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			t.Parallel()
			url := srv.URL + tt.path
			var out bytes.Buffer
			rc, err := Download(context.Background(), url, &out)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(rc)
			if _, err := br.Peek(1024); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			if tt.path == "/ctx.tar" {
				close(peeked)
			}
			got, err := io.ReadAll(struct{ io.Reader }{br})
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			switch tt.path {
			case "/ctx.tar":
				if len(got) != 10240 {
					t.Errorf("read %d bytes, want 10240", len(got))
				}
			case "/empty":
				if len(got) != 0 {
					t.Errorf("read %q, want nothing", got)
				}
			default:
				if string(got) != "FROM scratch\n" {
					t.Errorf("read %q", got)
				}
			}
			want := dockerOutput(t, tt.golden, tt.captured, url)
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("progress output differs from docker's:\n got %q\nwant %q", out.Bytes(), want)
			}
		})
	}
}

func TestDownloadErrors(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "\n  File gone \n", http.StatusNotFound)
	})
	mux.HandleFunc("/boom", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "\n  boom \n\n")
	})
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	mux.HandleFunc("/redir-gone", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/gone", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent) // < 400: not an error
	})
	srv := newServer(t, mux)

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/ctx.tar"
	_ = l.Close()

	tests := []struct {
		url  string
		want string
	}{
		{srv.URL + "/gone", "unable to download remote context %[1]s: failed to GET %[1]s with status 404 Not Found: File gone"},
		{srv.URL + "/boom", "unable to download remote context %[1]s: failed to GET %[1]s with status 500 Internal Server Error: boom"},
		{srv.URL + "/teapot", "unable to download remote context %[1]s: failed to GET %[1]s with status 418 I'm a teapot: "},
		// The original URL is reported, not the redirect's target.
		{srv.URL + "/redir-gone", "unable to download remote context %[1]s: failed to GET %[1]s with status 404 Not Found: File gone"},
		{closed, `unable to download remote context %[1]s: Get "%[1]s": dial tcp ` + strings.TrimPrefix(closed[:strings.LastIndex(closed, "/")], "http://") + ": connect: connection refused"},
		{"http://[::1", `unable to download remote context %[1]s: parse "%[1]s": missing ']' in host`},
	}
	for _, tt := range tests {
		rc, err := Download(context.Background(), tt.url, io.Discard)
		if err == nil {
			rc.Close()
			t.Errorf("Download(%s): no error", tt.url)
			continue
		}
		if want := fmt.Sprintf(tt.want, tt.url); err.Error() != want {
			t.Errorf("Download(%s) error:\n got %q\nwant %q", tt.url, err, want)
		}
	}

	rc, err := Download(context.Background(), srv.URL+"/ok", nil)
	if err != nil {
		t.Fatalf("204: %v", err)
	}
	if b, err := io.ReadAll(rc); err != nil || len(b) != 0 {
		t.Errorf("204 body %q, %v", b, err)
	}
	_ = rc.Close()
}

func TestDownloadCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := Download(ctx, srv.URL+"/slow", io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want one matching context.DeadlineExceeded", err)
	}
}

// TestDockerRateLimitedOutput documents, on docker's own output for a
// 20 MB body over loopback, that due updates are rate limited (1% steps
// would give about 100 lines; docker printed 3) and that the final line is
// the complete count, which the reader prints whatever the rate.
func TestDockerRateLimitedOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden, url string
		total       int64
		end         string
	}{
		{"big.bin", "http://127.0.0.1:23751/big.tar", 20008960, "\r"},
		{"bigchunked.bin", "http://127.0.0.1:23752/bigchunked", -1, "\r\r\n"},
	}
	for _, tt := range tests {
		b := string(dockerOutput(t, tt.golden, tt.url, tt.url))
		action := "Downloading build context from remote url: " + tt.url + " "
		lines := strings.Split(strings.TrimSuffix(b, tt.end), "\r")
		if len(lines) > 10 {
			t.Errorf("%s: %d lines, want a rate-limited few", tt.golden, len(lines))
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, action) {
				t.Errorf("%s: line %q", tt.golden, l)
			}
		}
		if got, want := lines[len(lines)-1], action+renderProgress(20008960, tt.total); got != want {
			t.Errorf("%s: last line %q, want %q", tt.golden, got, want)
		}
	}
}
