package enginetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var networks = []string{"unix", "tcp"}

// endless is an upload far bigger than a connection's buffers (loopback
// TCP autotunes to several MB), made on the fly; Read counts what the
// client's transport has taken.
type endless struct{ n atomic.Int64 }

const endlessSize = 64 << 20

func (e *endless) Read(p []byte) (int, error) {
	left := endlessSize - e.n.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), left))
	clear(p[:n])
	e.n.Add(int64(n))
	return n, nil
}

// post sends a /build request with body, giving up after timeout.
func post(t *testing.T, base string, c *http.Client, body io.Reader, timeout time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1.41/build?version=1", body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	return c.Do(req)
}

// within fails the test unless fn returns within limit.
func within(t *testing.T, limit time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s: still blocked after %s", what, limit)
	}
}

// waitFor polls cond every 10 ms until it holds, failing after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHang(t *testing.T) {
	t.Parallel()
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			d := New(WithHang())
			base, c := listen(t, d, network)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, base+"/_ping", nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
				if err == nil {
					resp.Body.Close()
				}
				t.Fatalf("HEAD /_ping answered (%v), want the client to give up waiting", err)
			}
			// A request without a body: the handler sees the client go.
			within(t, 5*time.Second, "Wait after the client gave up", d.Wait)
			if got := d.Calls(); len(got) != 1 || got[0].Path != "/_ping" {
				t.Errorf("calls = %+v, want the one ping", got)
			}
		})
	}
}

// TestHangEndsWhenServerStops: a hanging request whose client is still
// uploading does not hold up stop for Serve's 5 s grace period.
func TestHangEndsWhenServerStops(t *testing.T) {
	t.Parallel()
	for _, opt := range []struct {
		name string
		opt  Option
	}{{"hang", WithHang()}, {"build hang", WithBuildHang(4096)}} {
		t.Run(opt.name, func(t *testing.T) {
			t.Parallel()
			d := New(opt.opt)
			addr, stop, err := d.start("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			stop = sync.OnceFunc(stop)
			t.Cleanup(stop)
			base := "http://" + addr.String()
			c := &http.Client{Transport: &http.Transport{}}
			errc := make(chan error, 1)
			go func() {
				resp, err := post(t, base, c, &endless{}, time.Minute)
				if err == nil {
					resp.Body.Close()
				}
				errc <- err
			}()
			waitFor(t, 5*time.Second, "POST /build received", func() bool { return len(d.Calls()) == 1 })
			start := time.Now()
			stop()
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("stop took %s, want the hang released at once (not the 5 s grace period)", el)
			}
			select {
			case err := <-errc:
				if err == nil {
					t.Error("the client got an answer")
				}
			case <-time.After(5 * time.Second):
				t.Error("the client still waits after the server stopped")
			}
		})
	}
}

func TestBuildHang(t *testing.T) {
	t.Parallel()
	tarBody := writeTar(t, sampleFiles)
	for _, network := range networks {
		t.Run(network+" stalled upload", func(t *testing.T) {
			t.Parallel()
			d := New(WithBuildHang(4096))
			base, c := listen(t, d, network)
			body := &endless{}
			if _, err := post(t, base, c, body, 500*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("POST /build: %v, want the client to give up waiting", err)
			}
			if n := body.n.Load(); n >= endlessSize {
				t.Errorf("the client sent all %d bytes: the upload did not stall", n)
			}
		})
		t.Run(network+" no answer", func(t *testing.T) {
			t.Parallel()
			d := New(WithBuildHang(-1))
			base, c := listen(t, d, network)
			if _, err := post(t, base, c, io.MultiReader(bytes.NewReader(tarBody)), 500*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("POST /build: %v, want the client to give up waiting", err)
			}
			// The whole body was read: the handler sees the client go.
			within(t, 5*time.Second, "Wait after the client gave up", d.Wait)
			reqs := d.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d build requests, want 1", len(reqs))
			}
			if diff := cmp.Diff(sampleEntries, reqs[0].Entries); diff != "" || reqs[0].TarError != "" {
				t.Errorf("entries (-want +got):\n%s\ntar error: %s", diff, reqs[0].TarError)
			}
		})
	}
}

// TestBuildHangRecordsWhatWasRead: the request is recorded with the bytes
// read before the stall, once the hang ends.
func TestBuildHangRecordsWhatWasRead(t *testing.T) {
	t.Parallel()
	d := New(WithBuildHang(1000))
	addr, stop, err := d.start("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop = sync.OnceFunc(stop)
	t.Cleanup(stop)
	c := &http.Client{Transport: &http.Transport{}}
	if _, err := post(t, "http://"+addr.String(), c, &endless{}, 300*time.Millisecond); err == nil {
		t.Fatal("POST /build was answered")
	}
	within(t, 5*time.Second, "stop", stop)
	reqs := d.Requests()
	if len(reqs) != 1 || reqs[0].BodySize != 1000 {
		t.Fatalf("requests = %+v, want one with BodySize 1000", reqs)
	}
}

func TestResetDuringUpload(t *testing.T) {
	t.Parallel()
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			d := New(WithResetDuringUpload(5000))
			base, c := listen(t, d, network)
			body := &endless{}
			resp, err := post(t, base, c, body, 30*time.Second)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("POST /build answered %s, want the connection dropped", resp.Status)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("POST /build: %v, want the connection dropped at once", err)
			}
			if n := body.n.Load(); n >= endlessSize {
				t.Errorf("the client sent all %d bytes before the reset", n)
			}
			within(t, 5*time.Second, "Wait", d.Wait)
			reqs := d.Requests()
			if len(reqs) != 1 || reqs[0].BodySize != 5000 {
				t.Fatalf("requests = %+v, want one with BodySize 5000", reqs)
			}
		})
	}
}

func TestTruncatedStream(t *testing.T) {
	t.Parallel()
	label, err := RecordedStream("label.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cut := label[:len(label)-7]
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			d := New(WithTruncatedStream(cut), WithLineDelay(time.Millisecond))
			base, c := listen(t, d, network)
			resp, err := post(t, base, c, bytes.NewReader(writeTar(t, sampleFiles)), 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("answer %s %q, want 200 application/json", resp.Status, resp.Header.Get("Content-Type"))
			}
			got, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("reading the stream: %v, want unexpected EOF", err)
			}
			if diff := cmp.Diff(string(cut), string(got)); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFaultsWithoutConnection: without a connection to drop (a
// ResponseRecorder), the stream ends cleanly and a reset answers nothing.
func TestFaultsWithoutConnection(t *testing.T) {
	t.Parallel()
	w := do(t, New(WithTruncatedStream([]byte(`{"stream":"a`))), http.MethodPost, "/v1.41/build", writeTar(t, sampleFiles))
	if w.Code != 200 || w.Body.String() != `{"stream":"a` {
		t.Errorf("truncated stream: %d %q", w.Code, w.Body)
	}
	d := New(WithResetDuringUpload(10))
	w = do(t, d, http.MethodPost, "/v1.41/build", writeTar(t, sampleFiles))
	if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
		t.Errorf("reset: answered %q %q", w.Header(), w.Body)
	}
	if r := d.Requests(); len(r) != 1 || r[0].BodySize != 10 {
		t.Errorf("reset: requests = %+v, want one with BodySize 10", r)
	}
}
