package engine

import "testing"

func TestParseHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		tls     bool
		want    string
		wantErr string
	}{
		{"", false, "unix:///var/run/docker.sock", ""},
		{"", true, "tcp://localhost:2376", ""},
		{"127.0.0.1:2375", false, "tcp://127.0.0.1:2375", ""},
		{"tcp://", false, "tcp://localhost:2375", ""},
		{"tcp://", true, "tcp://localhost:2375", ""}, // docker: 2376 only for no host at all
		{"127.0.0.1", true, "tcp://127.0.0.1:2375", ""},
		{"tcp://tcp://127.0.0.1:1", false, "tcp://127.0.0.1:1", ""},
		{"tcp://127.0.0.1:1/p?x=1", false, "tcp://127.0.0.1:1/p", ""},
		{"tcp://[::1]:", false, "tcp://[::1]:2375", ""},
		{"tcp://a:b:c", false, "", `parse "tcp://a:b:c": invalid port ":c" after host`},
		{"tcp://udp://x", false, "", "invalid proto, expected tcp: udp://x"},
		{"unix://unix:///x", false, "unix:///x", ""},
		{"tcp://:1234", false, "tcp://localhost:1234", ""},
		{"tcp://example.test", false, "tcp://example.test:2375", ""},
		{"tcp://127.0.0.1:2375/base", false, "tcp://127.0.0.1:2375/base", ""},
		{"tcp://[::1]:2375", false, "tcp://[::1]:2375", ""},
		{"unix://", false, "unix:///var/run/docker.sock", ""},
		{"unix:///tmp/d.sock", false, "unix:///tmp/d.sock", ""},
		{"npipe://", false, "npipe:////./pipe/docker_engine", ""},
		{"ssh://me@host:22", false, "ssh://me@host:22", ""},
		{"fd://", false, "fd://", ""},
		{"foo://bar", false, "", "invalid bind address format: foo://bar"},
		{"udp://127.0.0.1", false, "", "invalid bind address format: udp://127.0.0.1"},
	} {
		got, err := ParseHost(tc.tls, tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseHost(%v, %q) error = %v, want %q", tc.tls, tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseHost(%v, %q) = %q, %v; want %q", tc.tls, tc.in, got, err, tc.want)
		}
	}
}
