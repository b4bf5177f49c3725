package opts

import (
	"fmt"
	"math"
	"net"
	"strings"
	"testing"

	units "github.com/docker/go-units"
)

// FuzzFlagValues gives fuzzed values to the parsers of docker's size,
// --ulimit and --add-host flags and compares each with docker CLI
// 28.2.2's own code: go-units for sizes and limits (docker's MemBytes,
// MemSwapBytes and UlimitOpt call it directly) and a verbatim copy of its
// ValidateExtraHost. A value that is accepted must also print back (as
// --help shows defaults) to something that parses to the same value.
func FuzzFlagValues(f *testing.F) {
	for _, s := range []string{
		"512m", "1.5g", "1kib", "1KB", "0", "-1", "", "xx", "1q", "9223372036854775807", "8E", "1e3", " 1m", "1.m",
		"nofile=1024:2048", "nproc=10", "nofile=5:3", "foo=1", "nofile", "nofile=-1", "nofile=-1:-1", "core=1:", "nofile=1:2:3",
		"h=::1", "h:[1.2.3.4]", "g: 1.2.3.4", "x=host-gateway", "h:host-gateway", ":1.2.3.4", "h", "h=[::1]", "h=[]", "a:b:c", "h=1.2.3.4 ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		// Sizes.
		var m MemBytes
		err := m.Set(v)
		want, wantErr := units.RAMInBytes(v)
		if errString(err) != errString(wantErr) || m.Value() != want {
			t.Fatalf("MemBytes.Set(%q) = %d, %v; docker: %d, %v", v, m.Value(), err, want, wantErr)
		}
		if err == nil && m.Value() >= 0 && m.Value() < 1<<60 {
			// (go-units wraps sizes past 8 EiB to negative numbers without
			// an error, as docker does, and prints "EiB", which it does not
			// parse: such sizes do not print back.)
			checkSizeRoundTrip(t, v, m.Value(), m.String())
		}
		var s MemSwapBytes
		err = s.Set(v)
		if v == "-1" {
			want, wantErr = -1, nil
		}
		if errString(err) != errString(wantErr) || s.Value() != want {
			t.Fatalf("MemSwapBytes.Set(%q) = %d, %v; docker: %d, %v", v, s.Value(), err, want, wantErr)
		}

		// Ulimits.
		o := NewUlimitOpt(nil)
		err = o.Set(v)
		l, lerr := units.ParseUlimit(v)
		if errString(err) != errString(lerr) {
			t.Fatalf("UlimitOpt.Set(%q) = %v; docker: %v", v, err, lerr)
		}
		if err == nil {
			got := o.GetList()
			if len(got) != 1 || got[0].Name != l.Name || got[0].Soft != l.Soft || got[0].Hard != l.Hard {
				t.Fatalf("UlimitOpt.Set(%q) holds %v; docker: %+v", v, got, l)
			}
			again := NewUlimitOpt(nil)
			if err := again.Set(got[0].String()); err != nil || again.String() != o.String() {
				t.Fatalf("ulimit %q prints as %q, which parses to %v, %v", v, got[0].String(), again.String(), err)
			}
		}

		// --add-host.
		gotHost, err := ValidateExtraHost(v)
		wantHost, wantErr := dockerValidateExtraHost(v)
		if gotHost != wantHost || errString(err) != errString(wantErr) {
			t.Fatalf("ValidateExtraHost(%q) = %q, %v; docker: %q, %v", v, gotHost, err, wantHost, wantErr)
		}
	})
}

// checkSizeRoundTrip: a size prints with four significant digits in
// binary units (e.g. "1.5GiB"), which must parse back to within that
// rounding.
func checkSizeRoundTrip(t *testing.T, in string, n int64, printed string) {
	t.Helper()
	if n == 0 {
		if printed != "0" {
			t.Fatalf("size %q: zero prints as %q", in, printed)
		}
		return
	}
	back, err := units.RAMInBytes(printed)
	if err != nil {
		t.Fatalf("size %q (%d) prints as %q, which does not parse: %v", in, n, printed, err)
	}
	if diff := math.Abs(float64(back) - float64(n)); diff > math.Abs(float64(n))*1e-3+1 {
		t.Fatalf("size %q (%d) prints as %q, which parses to %d", in, n, printed, back)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// dockerValidateExtraHost is docker CLI 28.2.2's opts.ValidateExtraHost
// (opts/hosts.go, with ValidateIPAddress from opts/opts.go inlined),
// copied verbatim but for the comments: the reference for the fuzz test.
func dockerValidateExtraHost(val string) (string, error) {
	const hostGatewayName = "host-gateway"
	k, v, ok := strings.Cut(val, "=")
	if !ok {
		k, v, ok = strings.Cut(val, ":")
	}
	if !ok || k == "" || strings.Contains(k, ":") {
		return "", fmt.Errorf("bad format for add-host: %q", val)
	}
	if v != hostGatewayName {
		if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
			v = v[1 : len(v)-1]
		}
		if ip := net.ParseIP(strings.TrimSpace(v)); ip == nil {
			return "", fmt.Errorf("invalid IP address in add-host: %q", v)
		}
	}
	return k + ":" + v, nil
}
