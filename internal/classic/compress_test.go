package classic

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"testing"

	"github.com/mybuild/mybuild/internal/build"
)

func TestChooseCompression(t *testing.T) {
	t.Parallel()
	on, off := true, false
	tests := []struct {
		name string
		host string
		env  map[string]string
		flag *bool // --compress=VALUE
		want bool
		auto bool
		err  string
	}{
		{name: "unix socket", host: "unix:///var/run/docker.sock"},
		{name: "loopback tcp", host: "tcp://127.0.0.1:2375"},
		{name: "localhost tcp", host: "tcp://localhost:2375"},
		{name: "ipv6 loopback", host: "tcp://[::1]:2375"},
		{name: "remote tcp", host: "tcp://10.1.2.3:2376", want: true, auto: true},
		{name: "remote ssh", host: "ssh://me@10.1.2.3", want: true, auto: true},
		{name: "loopback ssh", host: "ssh://me@127.0.0.1:2222"},
		{name: "fd", host: "fd://3"},
		{name: "--compress=false wins", host: "tcp://10.1.2.3:2376", flag: &off},
		{name: "--compress on loopback", host: "unix:///x.sock", flag: &on, want: true},
		{name: "env off", host: "tcp://10.1.2.3:2376", env: map[string]string{"MYBUILD_COMPRESS": "0"}},
		{name: "env on", host: "unix:///x.sock", env: map[string]string{"MYBUILD_COMPRESS": "1"}, want: true},
		{name: "flag over env", host: "unix:///x.sock", env: map[string]string{"MYBUILD_COMPRESS": "1"}, flag: &off},
		{name: "bad env", host: "unix:///x.sock", env: map[string]string{"MYBUILD_COMPRESS": "maybe"},
			err: `invalid MYBUILD_COMPRESS "maybe": want 1 (always compress) or 0 (only with --compress)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := &run{Request: &build.Request{Getenv: func(k string) string { return tt.env[k] }}}
			if tt.flag != nil {
				o.Classic.Compress, o.Classic.CompressSet, o.compress = *tt.flag, true, *tt.flag
			}
			err := o.chooseCompression(func() bool { return isRemote(context.Background(), tt.host) })
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.compress != tt.want || o.autoCompress != tt.auto {
				t.Errorf("Compress, auto = %v, %v; want %v, %v", o.compress, o.autoCompress, tt.want, tt.auto)
			}
		})
	}
}

// An automatic choice must not gzip an archive that already is; --compress
// does, as docker does.
func TestCompressedKeepsCompressedInput(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("a tar, say"))
	_ = zw.Close()

	for _, tt := range []struct {
		name        string
		auto        bool
		in          []byte
		wantAsIs    bool
		wantGzipped bool
	}{
		{name: "auto, gzip input", auto: true, in: gz.Bytes(), wantAsIs: true},
		{name: "auto, plain input", auto: true, in: []byte("plain tar bytes"), wantGzipped: true},
		{name: "flag, gzip input", in: gz.Bytes(), wantGzipped: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := &run{compress: true, autoCompress: tt.auto}
			got, err := io.ReadAll(o.compressed(io.NopCloser(bytes.NewReader(tt.in)), true))
			if err != nil {
				t.Fatal(err)
			}
			if asIs := bytes.Equal(got, tt.in); asIs != tt.wantAsIs {
				t.Errorf("body unchanged = %v, want %v", asIs, tt.wantAsIs)
			}
			if tt.wantGzipped {
				zr, err := gzip.NewReader(bytes.NewReader(got))
				if err != nil {
					t.Fatalf("not gzip: %v", err)
				}
				inner, _ := io.ReadAll(zr)
				if !bytes.Equal(inner, tt.in) {
					t.Errorf("gunzipped body = %q, want %q", inner, tt.in)
				}
			}
		})
	}
}
