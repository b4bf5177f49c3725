package enginetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var mtime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// tarFile is one entry to write with writeTar.
type tarFile struct {
	hdr     tar.Header
	content string
}

func writeTar(t *testing.T, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := f.hdr
		h.Size = int64(len(f.content))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var sampleFiles = []tarFile{
	{hdr: tar.Header{Name: "Dockerfile", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mtime, Format: tar.FormatUSTAR}, content: "FROM scratch\n"},
	{hdr: tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR}},
	{hdr: tar.Header{Name: "dir/suid", Typeflag: tar.TypeReg, Mode: 0o4755, ModTime: mtime, Format: tar.FormatUSTAR}, content: "x"},
	{hdr: tar.Header{Name: "dir/link", Typeflag: tar.TypeSymlink, Linkname: "../Dockerfile", Mode: 0o777, ModTime: mtime, Format: tar.FormatUSTAR}},
	{hdr: tar.Header{Name: "dir/hard", Typeflag: tar.TypeLink, Linkname: "dir/suid", Mode: 0o4755, ModTime: mtime, Format: tar.FormatUSTAR}},
	{hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o644, ModTime: mtime, Format: tar.FormatUSTAR}},
	{hdr: tar.Header{Name: "héllo", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 1000, Gid: 1000, ModTime: mtime, Format: tar.FormatPAX}, content: "non-ascii"},
}

var sampleEntries = []Entry{
	{Name: "Dockerfile", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mtime, Size: 13, Format: "USTAR", SHA256: sum("FROM scratch\n")},
	{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime, Format: "USTAR", SHA256: sum("")},
	{Name: "dir/suid", Typeflag: tar.TypeReg, Mode: 0o4755, ModTime: mtime, Size: 1, Format: "USTAR", SHA256: sum("x")},
	{Name: "dir/link", Typeflag: tar.TypeSymlink, Linkname: "../Dockerfile", Mode: 0o777, ModTime: mtime, Format: "USTAR", SHA256: sum("")},
	{Name: "dir/hard", Typeflag: tar.TypeLink, Linkname: "dir/suid", Mode: 0o4755, ModTime: mtime, Format: "USTAR", SHA256: sum("")},
	{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o644, ModTime: mtime, Format: "USTAR", SHA256: sum("")},
	{Name: "héllo", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 1000, Gid: 1000, ModTime: mtime, Size: 9, Format: "PAX", SHA256: sum("non-ascii"), PAXRecords: map[string]string{"path": "héllo"}},
}

// do sends one request to the handler and returns the recorded response.
func do(t *testing.T, d *Daemon, method, target string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-tar")
	w := httptest.NewRecorder()
	d.ServeHTTP(w, r)
	return w
}

func TestPing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []Option
		method     string
		wantStatus int
		wantBody   string
		wantHeader http.Header
	}{
		{
			name: "HEAD defaults", method: http.MethodHead, wantStatus: 200,
			wantHeader: http.Header{
				"Api-Version": {"1.41"}, "Ostype": {"linux"}, "Docker-Experimental": {"false"},
				"Builder-Version": {"1"}, "Server": {"Docker/20.10.24 (linux)"},
				"Cache-Control": {"no-cache, no-store, must-revalidate"}, "Pragma": {"no-cache"},
				"Content-Type": {"text/plain; charset=utf-8"}, "Content-Length": {"0"},
			},
		},
		{
			name: "GET defaults", method: http.MethodGet, wantStatus: 200, wantBody: "OK",
			wantHeader: http.Header{
				"Api-Version": {"1.41"}, "Ostype": {"linux"}, "Docker-Experimental": {"false"},
				"Builder-Version": {"1"}, "Server": {"Docker/20.10.24 (linux)"},
				"Cache-Control": {"no-cache, no-store, must-revalidate"}, "Pragma": {"no-cache"},
				"Content-Type": {"text/plain; charset=utf-8"},
			},
		},
		{
			name: "options",
			opts: []Option{
				WithAPIVersion("1.30"), WithOSType("windows"), WithExperimental(true),
				WithBuilderVersion("2"), WithServer("Docker/1.0 (windows)"),
			},
			method: http.MethodHead, wantStatus: 200,
			wantHeader: http.Header{
				"Api-Version": {"1.30"}, "Ostype": {"windows"}, "Docker-Experimental": {"true"},
				"Builder-Version": {"2"}, "Server": {"Docker/1.0 (windows)"},
				"Cache-Control": {"no-cache, no-store, must-revalidate"}, "Pragma": {"no-cache"},
				"Content-Type": {"text/plain; charset=utf-8"}, "Content-Length": {"0"},
			},
		},
		{
			name: "no Api-Version or Builder-Version", opts: []Option{WithoutAPIVersion(), WithBuilderVersion("")},
			method: http.MethodGet, wantStatus: 200, wantBody: "OK",
			wantHeader: http.Header{
				"Ostype": {"linux"}, "Docker-Experimental": {"false"}, "Server": {"Docker/20.10.24 (linux)"},
				"Cache-Control": {"no-cache, no-store, must-revalidate"}, "Pragma": {"no-cache"},
				"Content-Type": {"text/plain; charset=utf-8"},
			},
		},
		{
			name: "failing ping", opts: []Option{WithPingStatus(503)},
			method: http.MethodGet, wantStatus: 503, wantBody: `{"message":"enginetest: ping fails with status 503"}` + "\n",
			wantHeader: http.Header{
				"Api-Version": {"1.41"}, "Ostype": {"linux"}, "Docker-Experimental": {"false"},
				"Builder-Version": {"1"}, "Server": {"Docker/20.10.24 (linux)"},
				"Cache-Control": {"no-cache, no-store, must-revalidate"}, "Pragma": {"no-cache"},
				"Content-Type": {"application/json"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := New(tt.opts...)
			w := do(t, d, tt.method, "/_ping", nil)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantHeader, w.Header()); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			want := []Call{{Method: tt.method, Path: "/_ping", Host: "example.com", Header: http.Header{"Content-Type": {"application/x-tar"}}}}
			if diff := cmp.Diff(want, d.Calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildRecordsEntries(t *testing.T) {
	t.Parallel()
	plain := writeTar(t, sampleFiles)
	// docker's -f - mode: the last entry's padding and the trailer are missing.
	lastEnd := len(plain) - 2*512 - 512 + len("non-ascii")
	truncated := plain[:lastEnd]

	tests := []struct {
		name            string
		body            []byte
		wantEntries     []Entry
		wantCompression string
		wantTarError    string
	}{
		{name: "plain", body: plain, wantEntries: sampleEntries},
		{name: "gzip", body: gzipped(t, plain), wantEntries: sampleEntries, wantCompression: "gzip"},
		{name: "truncated", body: truncated, wantEntries: sampleEntries, wantTarError: errNoTrailer},
		{name: "empty body", body: nil, wantTarError: errNoTrailer},
		{name: "partial marker", body: plain[:len(plain)-1], wantEntries: sampleEntries, wantTarError: "unexpected EOF"},
		{name: "empty tar", body: writeTar(t, nil)},
		{name: "xz magic", body: []byte{0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1}, wantCompression: "xz", wantTarError: "enginetest: xz body not decoded"},
		{name: "zstd magic", body: []byte{0x28, 0xB5, 0x2F, 0xFD, 1}, wantCompression: "zstd", wantTarError: "enginetest: zstd body not decoded"},
		{name: "bzip2 magic, bad data", body: []byte("BZh9garbage"), wantCompression: "bzip2", wantTarError: "bzip2 data invalid: bad magic value found"},
		{name: "not a tar", body: bytes.Repeat([]byte("x"), 600), wantTarError: "archive/tar: invalid tar header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := New()
			w := do(t, d, http.MethodPost, "/v1.41/build?dockerfile=Dockerfile&t=a&t=b%3A1&version=1", tt.body)
			if w.Code != 200 {
				t.Fatalf("status = %d, body %s", w.Code, w.Body)
			}
			reqs := d.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			want := Request{
				Method: "POST", Path: "/v1.41/build", RawQuery: "dockerfile=Dockerfile&t=a&t=b%3A1&version=1",
				Query:  url.Values{"dockerfile": {"Dockerfile"}, "t": {"a", "b:1"}, "version": {"1"}},
				Host:   "example.com",
				Header: http.Header{"Content-Type": {"application/x-tar"}},
				// httptest.NewRequest sets the length of a bytes.Reader body.
				ContentLength: int64(len(tt.body)),
				BodySize:      int64(len(tt.body)),
				BodySHA256:    sum(string(tt.body)),
				Compression:   tt.wantCompression,
				Gzip:          tt.wantCompression == "gzip",
				Entries:       tt.wantEntries,
				TarError:      tt.wantTarError,
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildResponses(t *testing.T) {
	t.Parallel()
	label, err := RecordedStream("label.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	copyMissing, err := RecordedStream("copy-missing.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	streamFile := filepath.Join(t.TempDir(), "s.jsonl")
	if err := os.WriteFile(streamFile, []byte(`{"stream":"hi\n"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tagged := string(label) +
		`{"stream":"Successfully tagged foo:latest\n"}` + "\r\n" +
		`{"stream":"Successfully tagged reg:5000/foo:latest\n"}` + "\r\n" +
		`{"stream":"Successfully tagged foo:v1\n"}` + "\r\n" +
		`{"stream":"Successfully tagged foo@sha256:abc\n"}` + "\r\n"

	tests := []struct {
		name     string
		opts     []Option
		target   string
		wantCode int
		wantType string
		wantBody string
	}{
		{name: "default", target: "/v1.41/build?version=1", wantCode: 200, wantType: "application/json", wantBody: string(label)},
		{name: "unversioned", target: "/build?version=1", wantCode: 200, wantType: "application/json", wantBody: string(label)},
		{
			name: "default with tags", target: "/v1.41/build?t=foo&t=reg%3A5000%2Ffoo&t=foo%3Av1&t=foo%40sha256%3Aabc",
			wantCode: 200, wantType: "application/json", wantBody: tagged,
		},
		{
			name: "quiet", target: "/v1.41/build?q=1&t=foo", wantCode: 200, wantType: "application/json",
			wantBody: `{"stream":"` + DefaultImageID + `\n"}` + "\r\n",
		},
		{
			name: "squash without experimental", target: "/v1.41/build?squash=1", wantCode: 400, wantType: "application/json",
			wantBody: `{"message":"squash is only supported with experimental mode"}` + "\n",
		},
		{
			name: "squash with experimental", opts: []Option{WithExperimental(true)}, target: "/v1.41/build?squash=1",
			wantCode: 200, wantType: "application/json", wantBody: string(label),
		},
		{
			name: "client too new", target: "/v1.50/build", wantCode: 400, wantType: "application/json",
			wantBody: `{"message":"client version 1.50 is too new. Maximum supported API version is 1.41"}` + "\n",
		},
		{
			name: "older client", opts: []Option{WithAPIVersion("1.30")}, target: "/v1.9/build",
			wantCode: 200, wantType: "application/json", wantBody: string(label),
		},
		{
			name: "version check off", opts: []Option{WithoutVersionCheck()}, target: "/v1.99/build",
			wantCode: 200, wantType: "application/json", wantBody: string(label),
		},
		{
			name: "recorded stream", opts: []Option{WithRecordedStream("copy-missing.jsonl")}, target: "/v1.41/build",
			wantCode: 200, wantType: "application/json", wantBody: string(copyMissing),
		},
		{
			name: "stream file", opts: []Option{WithStreamFile(streamFile)}, target: "/v1.41/build",
			wantCode: 200, wantType: "application/json", wantBody: `{"stream":"hi\n"}` + "\n",
		},
		{
			name: "JSON error", opts: []Option{WithBuildError(500, "boom & <bang>")}, target: "/v1.41/build",
			wantCode: 500, wantType: "application/json", wantBody: `{"message":"boom \u0026 \u003cbang\u003e"}` + "\n",
		},
		{
			name: "plain text error", opts: []Option{WithBuildResponse(502, "text/plain", []byte("bad gateway\n"))}, target: "/v1.41/build",
			wantCode: 502, wantType: "text/plain", wantBody: "bad gateway\n",
		},
		{
			name: "line delay", opts: []Option{WithLineDelay(time.Millisecond)}, target: "/v1.41/build",
			wantCode: 200, wantType: "application/json", wantBody: string(label),
		},
		{name: "GET build", target: "/v1.41/build", wantCode: 404, wantType: "application/json", wantBody: `{"message":"page not found"}` + "\n"},
		{name: "unknown path", target: "/v1.41/info", wantCode: 404, wantType: "application/json", wantBody: `{"message":"page not found"}` + "\n"},
		{
			name: "bad option", opts: []Option{WithRecordedStream("nope")}, target: "/v1.41/build",
			wantCode: 500, wantType: "text/plain; charset=utf-8",
			wantBody: `enginetest: no recorded stream "nope" (have copy-missing.jsonl, label-cached.jsonl, label-tagged.jsonl, label.jsonl, parse-error.json, quiet.jsonl, run-exit3.jsonl)` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := http.MethodPost
			if strings.HasPrefix(tt.name, "GET") {
				method = http.MethodGet
			}
			w := do(t, New(tt.opts...), method, tt.target, writeTar(t, sampleFiles[:1]))
			if w.Code != tt.wantCode {
				t.Errorf("status = %d, want %d", w.Code, tt.wantCode)
			}
			if got := w.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if diff := cmp.Diff(tt.wantBody, w.Body.String()); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeTag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"foo":                  "foo:latest",
		"foo:1":                "foo:1",
		"localhost:5000/a/b":   "localhost:5000/a/b:latest",
		"localhost:5000/a/b:c": "localhost:5000/a/b:c",
		"a@sha256:00":          "a@sha256:00",
	} {
		if got := normalizeTag(in); got != want {
			t.Errorf("normalizeTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEntryContent(t *testing.T) {
	t.Parallel()
	d := New(WithEntryContent(4))
	do(t, d, http.MethodPost, "/v1.41/build", writeTar(t, sampleFiles))
	var got []string
	for _, e := range d.Requests()[0].Entries {
		got = append(got, string(e.Content))
	}
	want := []string{"FROM", "", "x", "", "", "", "non-"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contents (-want +got):\n%s", diff)
	}
}

func TestOptionErrors(t *testing.T) {
	t.Parallel()
	d := New(WithStreamFile(filepath.Join(t.TempDir(), "missing.jsonl")))
	if d.Err() == nil {
		t.Fatal("Err() = nil for a missing stream file")
	}
	if _, err := d.Start("tcp", "127.0.0.1:0"); err == nil {
		t.Error("Start succeeded with a bad option")
	}
	if err := New().Err(); err != nil {
		t.Errorf("New().Err() = %v", err)
	}
}

// TestListen talks to the daemon over real sockets, with a chunked upload
// like docker's, and checks what was recorded.
func TestListen(t *testing.T) {
	t.Parallel()
	body := writeTar(t, sampleFiles)
	tests := []struct {
		network string
		host    string
	}{
		{network: "unix", host: "api.moby.localhost"},
		{network: "tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.network, func(t *testing.T) {
			t.Parallel()
			d := New(WithLineDelay(time.Millisecond))
			base, c := listen(t, d, tt.network)
			host := tt.host
			if host == "" {
				host = strings.TrimPrefix(base, "http://")
			}

			resp, err := c.Head(base + "/_ping")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// io.MultiReader hides the length: the upload is chunked.
			req, err := http.NewRequest(http.MethodPost, base+"/v1.41/build?version=1", io.MultiReader(bytes.NewReader(body)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-tar")
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			label, _ := RecordedStream("label.jsonl")
			if diff := cmp.Diff(string(label), string(got)); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
			d.Wait()

			hdr := http.Header{"User-Agent": {"Go-http-client/1.1"}}
			postHdr := http.Header{"User-Agent": {"Go-http-client/1.1"}, "Content-Type": {"application/x-tar"}, "Accept-Encoding": {"gzip"}}
			wantCalls := []Call{
				{Method: "HEAD", Path: "/_ping", Host: host, Header: hdr},
				{Method: "POST", Path: "/v1.41/build", RawQuery: "version=1", Host: host, Header: postHdr},
			}
			if diff := cmp.Diff(wantCalls, d.Calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			reqs := d.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d build requests", len(reqs))
			}
			r := reqs[0]
			if diff := cmp.Diff([]string{"chunked"}, r.TransferEncoding); diff != "" {
				t.Errorf("TransferEncoding (-want +got):\n%s", diff)
			}
			if r.ContentLength != -1 {
				t.Errorf("ContentLength = %d, want -1", r.ContentLength)
			}
			if diff := cmp.Diff(sampleEntries, r.Entries); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

// listen serves d on a unix socket or a loopback TCP port (network "unix"
// or "tcp") until the test ends, and returns the base URL and a client for
// it. Over a unix socket the URL's host is the one docker sends.
func listen(t *testing.T, d *Daemon, network string) (base string, client *http.Client) {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	switch network {
	case "unix":
		sock := d.ListenUnix(t)
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		}
		base = "http://api.moby.localhost"
	case "tcp":
		base = "http://" + d.ListenTCP(t)
	default:
		t.Fatalf("listen: unknown network %q", network)
	}
	return base, &http.Client{Transport: tr}
}
