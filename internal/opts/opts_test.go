package opts

// Expected messages marked [binary] below were checked against the real
// docker CLI 28.2.2 (`DOCKER_BUILDKIT=0 docker build <flag> <value> .`,
// exit 125, text after `invalid argument "<v>" for "<flag>" flag: `).
// Accepted values marked [binary] got past flag parsing (docker went on to
// contact the daemon). The normalised values marked [wire] were read from
// the query docker sent to a recording fake daemon:
//
//	--add-host h=::1 → extrahosts=h:::1, h:[1.2.3.4] → h:1.2.3.4,
//	'g: 1.2.3.4' → 'g: 1.2.3.4', x=host-gateway → x:host-gateway
//	--ulimit nofile=1024:2048 --ulimit nproc=10 --ulimit nofile=5 →
//	  [{"Name":"nofile","Hard":5,"Soft":5},{"Name":"nproc","Hard":10,"Soft":10}]
//	--label k --label ' a=b c' → {" a":"b c","k":""}
//	--build-arg FOO (FOO=fromenv set) --build-arg BAR --build-arg E= →
//	  {"BAR":null,"E":"","FOO":"fromenv"}
//	-t Foo/bar -t ubuntu → t=Foo/bar, t=ubuntu (as typed)
//	-m 1.5g → 1610612736, --memory-swap -1 → -1, --shm-size 1kib → 1024

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

type validatorCase struct {
	in      string
	want    string // value returned when accepted
	wantErr string // exact error text when rejected
}

func runValidatorCases(t *testing.T, fn func(string) (string, error), cases []validatorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := fn(tc.in)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("(%q) = %q, nil; want error %q", tc.in, got, tc.wantErr)
				}
				if diff := cmp.Diff(tc.wantErr, err.Error()); diff != "" {
					t.Fatalf("(%q) error mismatch (-want +got):\n%s", tc.in, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("(%q) unexpected error: %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(%q) value mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestValidateTag(t *testing.T) {
	t.Parallel()
	hex64 := strings.Repeat("a", 64)
	long := strings.Repeat("a", 256)
	runValidatorCases(t, ValidateTag, []validatorCase{
		{in: "ubuntu", want: "ubuntu"},
		{in: "ubuntu:22.04", want: "ubuntu:22.04"},
		{in: "docker.io/library/ubuntu", want: "docker.io/library/ubuntu"},
		{in: "Foo/bar", want: "Foo/bar"},                                                                            // [binary] "Foo" is a registry host
		{in: "Foo:5000/x", want: "Foo:5000/x"},                                                                      // [binary]
		{in: "foo@sha256:" + hex64, want: "foo@sha256:" + hex64},                                                    // [binary]
		{in: "foo:tag@sha256:" + hex64, want: "foo:tag@sha256:" + hex64},                                            // [binary]
		{in: "sha256:" + hex64, want: "sha256:" + hex64},                                                            // [binary] name "sha256", tag hex
		{in: "UPPER", wantErr: "invalid reference format: repository name (library/UPPER) must be lowercase"},       // [binary]
		{in: "localhost:5000/UP", wantErr: "invalid reference format: repository name (UP) must be lowercase"},      // [binary]
		{in: "foo/Bar:tag", wantErr: "invalid reference format: repository name (foo/Bar) must be lowercase"},       // [binary]
		{in: "x:bad:tag", wantErr: "invalid reference format"},                                                      // [binary]
		{in: "", wantErr: "invalid reference format"},                                                               // [binary]
		{in: "a b", wantErr: "invalid reference format"},                                                            // [binary]
		{in: "-x", wantErr: "invalid reference format"},                                                             // [binary]
		{in: "foo@sha256:abc", wantErr: "invalid reference format"},                                                 // [binary]
		{in: "a//b", wantErr: "invalid reference format"},                                                           // [binary]
		{in: "a:", wantErr: "invalid reference format"},                                                             // [binary]
		{in: "a:" + strings.Repeat("x", 129), wantErr: "invalid reference format"},                                  // [binary]
		{in: long, wantErr: "repository name must not be more than 255 characters"},                                 // [binary]
		{in: hex64, wantErr: "invalid repository name (" + hex64 + "), cannot specify 64-byte hexadecimal strings"}, // [binary]
	})
}

func TestValidateEnv(t *testing.T) {
	t.Parallel()
	cases := []validatorCase{
		{in: "A", want: "A"},                                    // [binary] (env lookup deferred to ConvertKVStringsToMapWithNil)
		{in: "A=", want: "A="},                                  // [binary]
		{in: "A=b=c", want: "A=b=c"},                            // [binary]
		{in: " =x", want: " =x"},                                // [binary]
		{in: "A B=1", want: "A B=1"},                            // [binary]
		{in: "=x", wantErr: "invalid environment variable: =x"}, // [binary]
		{in: "=", wantErr: "invalid environment variable: ="},   // [binary]
		{in: "", wantErr: "invalid environment variable: "},     // [binary]
	}
	t.Run("ValidateEnv", func(t *testing.T) {
		t.Parallel()
		runValidatorCases(t, ValidateEnv, cases)
	})
}

func TestValidateLabel(t *testing.T) {
	t.Parallel()
	runValidatorCases(t, ValidateLabel, []validatorCase{
		{in: "k", want: "k"},           // [binary]
		{in: "a=b c", want: "a=b c"},   // [binary]
		{in: " a=1", want: " a=1"},     // [binary] leading whitespace allowed and kept
		{in: "a\nb=1", want: "a\nb=1"}, // [binary] only space and tab count
		{in: "a=", want: "a="},
		{in: "=x", wantErr: "invalid label '=x': empty name"},        // [binary]
		{in: "", wantErr: "invalid label '': empty name"},            // [binary]
		{in: "=", wantErr: "invalid label '=': empty name"},          // [binary]
		{in: " =x", wantErr: "invalid label ' =x': empty name"},      // [binary]
		{in: "a b", wantErr: "label 'a b' contains whitespaces"},     // [binary]
		{in: "a b=c", wantErr: "label 'a b' contains whitespaces"},   // [binary]
		{in: "a\tb=1", wantErr: "label 'a\tb' contains whitespaces"}, // [binary]
		{in: "a =1", wantErr: "label 'a ' contains whitespaces"},     // [binary]
		{in: " a b=1", wantErr: "label 'a b' contains whitespaces"},
	})
}

func TestValidateExtraHost(t *testing.T) {
	t.Parallel()
	runValidatorCases(t, ValidateExtraHost, []validatorCase{
		{in: "h:1.2.3.4", want: "h:1.2.3.4"},
		{in: "h=1.2.3.4", want: "h:1.2.3.4"},
		{in: "h:[::1]", want: "h:::1"},                                                      // [binary]
		{in: "h=[::1]", want: "h:::1"},                                                      // [binary]
		{in: "h:::1", want: "h:::1"},                                                        // [binary]
		{in: "h=::1", want: "h:::1"},                                                        // [binary] [wire]
		{in: "h:[1.2.3.4]", want: "h:1.2.3.4"},                                              // [binary] [wire]
		{in: "h:host-gateway", want: "h:host-gateway"},                                      // [binary]
		{in: "x=host-gateway", want: "x:host-gateway"},                                      // [wire]
		{in: "h: 1.2.3.4", want: "h: 1.2.3.4"},                                              // [binary] [wire] whitespace kept
		{in: "h:1.2.3.4 ", want: "h:1.2.3.4 "},                                              // [binary]
		{in: "h:[ ::1 ]", want: "h: ::1 "},                                                  // [binary]
		{in: "h:0:0:0:0:0:0:0:1", want: "h:0:0:0:0:0:0:0:1"},                                // [binary] not canonicalised
		{in: "bad", wantErr: `bad format for add-host: "bad"`},                              // [binary]
		{in: "", wantErr: `bad format for add-host: ""`},                                    // [binary]
		{in: ":1.2.3.4", wantErr: `bad format for add-host: ":1.2.3.4"`},                    // [binary]
		{in: "=1.2.3.4", wantErr: `bad format for add-host: "=1.2.3.4"`},                    // [binary]
		{in: "a:b=1.2.3.4", wantErr: `bad format for add-host: "a:b=1.2.3.4"`},              // [binary]
		{in: "h:notip", wantErr: `invalid IP address in add-host: "notip"`},                 // [binary]
		{in: "h=notip", wantErr: `invalid IP address in add-host: "notip"`},                 // [binary]
		{in: "h:", wantErr: `invalid IP address in add-host: ""`},                           // [binary]
		{in: "h=", wantErr: `invalid IP address in add-host: ""`},                           // [binary]
		{in: "h:[host-gateway]", wantErr: `invalid IP address in add-host: "host-gateway"`}, // [binary]
		{in: "h:[]", wantErr: `invalid IP address in add-host: "[]"`},                       // [binary]
		{in: "h:[x]", wantErr: `invalid IP address in add-host: "x"`},                       // [binary]
		{in: "h:[1]", wantErr: `invalid IP address in add-host: "1"`},                       // [binary]
		{in: "h:[::1", wantErr: `invalid IP address in add-host: "[::1"`},                   // [binary]
		{in: "h=a=b", wantErr: `invalid IP address in add-host: "a=b"`},                     // [binary]
		{in: "h::::1", wantErr: `invalid IP address in add-host: ":::1"`},                   // [binary]
		{in: "h:256.1.1.1", wantErr: `invalid IP address in add-host: "256.1.1.1"`},         // [binary]
		{in: "h:fe80::1%eth0", wantErr: `invalid IP address in add-host: "fe80::1%eth0"`},   // [binary]
	})
}

func TestListOpts(t *testing.T) {
	t.Parallel()
	l := NewListOpts(ValidateExtraHost)
	if got, want := l.Type(), "list"; got != want {
		t.Errorf("Type() = %q, want %q", got, want)
	}
	if got := l.String(); got != "" {
		t.Errorf("empty String() = %q, want \"\"", got)
	}
	if l.GetAll() != nil || l.Len() != 0 {
		t.Errorf("empty list: GetAll() = %#v, Len() = %d", l.GetAll(), l.Len())
	}
	for _, v := range []string{"a=::1", "b:1.2.3.4"} {
		if err := l.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	if err := l.Set("bad"); err == nil {
		t.Fatal("Set(bad) succeeded")
	}
	want := []string{"a:::1", "b:1.2.3.4"}
	if diff := cmp.Diff(want, l.GetAll()); diff != "" {
		t.Errorf("GetAll() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, l.GetSlice()); diff != "" {
		t.Errorf("GetSlice() mismatch (-want +got):\n%s", diff)
	}
	if got := l.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2", got)
	}
	if got, want := l.String(), "[a:::1 b:1.2.3.4]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	plain := NewListOpts(nil)
	if err := plain.Set(""); err != nil {
		t.Fatalf("Set with nil validator: %v", err)
	}
	if diff := cmp.Diff([]string{""}, plain.GetAll()); diff != "" {
		t.Errorf("nil validator GetAll() mismatch (-want +got):\n%s", diff)
	}
}

func TestConvertKVStringsToMap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want map[string]string
	}{
		{name: "nil", in: nil, want: map[string]string{}},
		{name: "wire", in: []string{"k", " a=b c"}, want: map[string]string{"k": "", " a": "b c"}}, // [wire]
		{name: "first equals splits", in: []string{"a=b=c", "e="}, want: map[string]string{"a": "b=c", "e": ""}},
		{name: "later wins", in: []string{"a=1", "a=2"}, want: map[string]string{"a": "2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, ConvertKVStringsToMap(tc.in)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConvertKVStringsToMapWithNil(t *testing.T) {
	t.Parallel()
	env := map[string]string{"FOO": "fromenv", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name   string
		in     []string
		lookup func(string) (string, bool)
		want   string // JSON encoding of the result
	}{
		{name: "wire", in: []string{"FOO", "BAR", "E="}, lookup: lookup, want: `{"BAR":null,"E":"","FOO":"fromenv"}`}, // [wire]
		{name: "set but empty env", in: []string{"EMPTY"}, lookup: lookup, want: `{"EMPTY":""}`},
		{name: "value with equals", in: []string{"A=b=c", "B=x y&z"}, lookup: lookup, want: `{"A":"b=c","B":"x y\u0026z"}`},
		{name: "later wins", in: []string{"FOO=1", "FOO"}, lookup: lookup, want: `{"FOO":"fromenv"}`},
		{name: "later wins unset", in: []string{"BAR=1", "BAR"}, lookup: lookup, want: `{"BAR":null}`},
		{name: "nil lookup", in: []string{"FOO"}, lookup: nil, want: `{"FOO":null}`},
		{name: "nil input", in: nil, lookup: lookup, want: `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(ConvertKVStringsToMapWithNil(tc.in, tc.lookup))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "512m", want: 536870912},                                               // [binary]
		{in: "1.5g", want: 1610612736},                                              // [binary] [wire]
		{in: "1kib", want: 1024},                                                    // [binary] [wire]
		{in: "1KB", want: 1024},                                                     // [binary]
		{in: "1b", want: 1},                                                         // [binary]
		{in: "1 k", want: 1024},                                                     // [binary]
		{in: "1e3", want: 1000},                                                     // [binary]
		{in: "1.5", want: 1},                                                        // [binary]
		{in: "0", want: 0},                                                          // [binary]
		{in: "xx", wantErr: "invalid size: 'xx'"},                                   // [binary]
		{in: "", wantErr: "invalid size: ''"},                                       // [binary]
		{in: "k", wantErr: "invalid size: 'k'"},                                     // [binary]
		{in: "-5", wantErr: "invalid size: '-5'"},                                   // [binary]
		{in: "1q", wantErr: "invalid suffix: 'q'"},                                  // [binary]
		{in: "1.5x", wantErr: "invalid suffix: 'x'"},                                // [binary]
		{in: "1kk", wantErr: "invalid suffix: 'kk'"},                                // [binary]
		{in: " 1k", wantErr: `strconv.ParseFloat: parsing " 1": invalid syntax`},    // [binary]
		{in: "0x10", wantErr: `strconv.ParseFloat: parsing "0x10": invalid syntax`}, // [binary]
		{in: "1m2", wantErr: `strconv.ParseFloat: parsing "1m2": invalid syntax`},   // [binary]
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			var m MemBytes
			var s MemSwapBytes
			checkSet(t, "MemBytes", m.Set(tc.in), func() int64 { return m.Value() }, tc.want, tc.wantErr)
			checkSet(t, "MemSwapBytes", s.Set(tc.in), func() int64 { return s.Value() }, tc.want, tc.wantErr)
		})
	}
}

func checkSet(t *testing.T, what string, err error, value func() int64, want int64, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil {
			t.Fatalf("%s: no error, want %q", what, wantErr)
		}
		if diff := cmp.Diff(wantErr, err.Error()); diff != "" {
			t.Fatalf("%s: error mismatch (-want +got):\n%s", what, diff)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
	if got := value(); got != want {
		t.Fatalf("%s: Value() = %d, want %d", what, got, want)
	}
}

func TestMemSwapBytesMinusOne(t *testing.T) {
	t.Parallel()
	var s MemSwapBytes
	if err := s.Set("-1"); err != nil { // [binary] [wire]
		t.Fatalf("Set(-1): %v", err)
	}
	if s.Value() != -1 {
		t.Fatalf("Value() = %d, want -1", s.Value())
	}
	var m MemBytes
	// [binary] -m -1 and --shm-size -1 are rejected.
	if err := m.Set("-1"); err == nil || err.Error() != "invalid size: '-1'" {
		t.Fatalf("MemBytes.Set(-1) = %v", err)
	}
}

func TestMemBytesString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    int64
		want string
	}{
		{0, "0"},
		{536870912, "512MiB"},
		{1536, "1.5KiB"},
		{1, "1B"},
	}
	for _, tc := range tests {
		m := MemBytes(tc.v)
		s := MemSwapBytes(tc.v)
		if got := m.String(); got != tc.want {
			t.Errorf("MemBytes(%d).String() = %q, want %q", tc.v, got, tc.want)
		}
		if got := s.String(); got != tc.want {
			t.Errorf("MemSwapBytes(%d).String() = %q, want %q", tc.v, got, tc.want)
		}
	}
	if got := new(MemBytes).Type(); got != "bytes" {
		t.Errorf("MemBytes Type() = %q", got)
	}
	if got := new(MemSwapBytes).Type(); got != "bytes" {
		t.Errorf("MemSwapBytes Type() = %q", got)
	}
}

func TestUlimitOptSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Ulimit
		wantErr string
	}{
		{in: "nofile=1024:2048", want: Ulimit{Name: "nofile", Soft: 1024, Hard: 2048}},                                              // [wire]
		{in: "nproc=10", want: Ulimit{Name: "nproc", Soft: 10, Hard: 10}},                                                           // [wire]
		{in: "nofile=-1", want: Ulimit{Name: "nofile", Soft: -1, Hard: -1}},                                                         // [binary]
		{in: "nofile=10:-1", want: Ulimit{Name: "nofile", Soft: 10, Hard: -1}},                                                      // [binary]
		{in: "nofile", wantErr: "invalid ulimit argument: nofile"},                                                                  // [binary]
		{in: "", wantErr: "invalid ulimit argument: "},                                                                              // [binary]
		{in: "as=1", wantErr: "invalid ulimit type: as"},                                                                            // [binary]
		{in: "foo=1", wantErr: "invalid ulimit type: foo"},                                                                          // [binary]
		{in: "=1", wantErr: "invalid ulimit type: "},                                                                                // [binary]
		{in: "NOFILE=1", wantErr: "invalid ulimit type: NOFILE"},                                                                    // [binary]
		{in: "nofile=a", wantErr: `strconv.ParseInt: parsing "a": invalid syntax`},                                                  // [binary]
		{in: "nofile=1:b", wantErr: `strconv.ParseInt: parsing "b": invalid syntax`},                                                // [binary]
		{in: "nofile=", wantErr: `strconv.ParseInt: parsing "": invalid syntax`},                                                    // [binary]
		{in: "nofile=1:", wantErr: `strconv.ParseInt: parsing "": invalid syntax`},                                                  // [binary]
		{in: "nofile=99999999999999999999", wantErr: `strconv.ParseInt: parsing "99999999999999999999": value out of range`},        // [binary]
		{in: "nofile=1:2:3", wantErr: "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"},             // [binary]
		{in: "nofile=-1:10", wantErr: "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 10"}, // [binary]
		{in: "nofile=20:10", wantErr: "ulimit soft limit must be less than or equal to hard limit: 20 > 10"},                        // [binary]
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			o := NewUlimitOpt(nil)
			err := o.Set(tc.in)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Set(%q) succeeded, want %q", tc.in, tc.wantErr)
				}
				if diff := cmp.Diff(tc.wantErr, err.Error()); diff != "" {
					t.Fatalf("error mismatch (-want +got):\n%s", diff)
				}
				if len(o.GetList()) != 0 {
					t.Fatalf("failed Set stored %v", o.GetList())
				}
				return
			}
			if err != nil {
				t.Fatalf("Set(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff([]*Ulimit{&tc.want}, o.GetList()); diff != "" {
				t.Fatalf("GetList() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUlimitOpt(t *testing.T) {
	t.Parallel()
	var m map[string]*Ulimit // nil map behind the reference
	o := NewUlimitOpt(&m)
	if got, want := o.Type(), "ulimit"; got != want {
		t.Errorf("Type() = %q, want %q", got, want)
	}
	if got, want := o.String(), "[]"; got != want {
		t.Errorf("empty String() = %q, want %q", got, want)
	}
	if got := o.GetList(); got == nil || len(got) != 0 {
		t.Errorf("empty GetList() = %#v, want empty non-nil", got)
	}
	for _, v := range []string{"nofile=1024:2048", "nproc=10", "nofile=5"} { // [wire]
		if err := o.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	b, err := json.Marshal(o.GetList())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`[{"Name":"nofile","Hard":5,"Soft":5},{"Name":"nproc","Hard":10,"Soft":10}]`, string(b)); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
	if got, want := o.String(), "[nofile=5:5 nproc=10:10]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if len(m) != 2 || m["nproc"] == nil {
		t.Errorf("values not stored through the reference: %v", m)
	}
}

// TestPflagIntegration checks the full error line pflag prints and the
// --help rendering of each type, as docker build 28.2.2 shows them.
func TestPflagIntegration(t *testing.T) {
	t.Parallel()
	newSet := func() *pflag.FlagSet {
		fs := pflag.NewFlagSet("build", pflag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		var mem, shm MemBytes
		var swap MemSwapBytes
		fs.Var(NewListOpts(ValidateExtraHost), "add-host", `Add a custom host-to-IP mapping ("host:ip")`)
		fs.Var(NewListOpts(ValidateEnv), "build-arg", "Set build-time variables")
		fs.Var(NewListOpts(ValidateLabel), "label", "Set metadata for an image")
		fs.VarP(&mem, "memory", "m", "Memory limit")
		fs.Var(&swap, "memory-swap", "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
		fs.Var(&shm, "shm-size", `Size of "/dev/shm"`)
		fs.VarP(NewListOpts(ValidateTag), "tag", "t", `Name and optionally a tag in the "name:tag" format`)
		fs.Var(NewUlimitOpt(nil), "ulimit", "Ulimit options")
		fs.StringSlice("cache-from", []string{}, "Images to consider as cache sources")
		return fs
	}

	errTests := []struct {
		args []string
		want string
	}{
		{[]string{"-t", "UPPER"}, `invalid argument "UPPER" for "-t, --tag" flag: invalid reference format: repository name (library/UPPER) must be lowercase`},
		{[]string{"--tag", "x:bad:tag"}, `invalid argument "x:bad:tag" for "-t, --tag" flag: invalid reference format`},
		{[]string{"--build-arg", "=x"}, `invalid argument "=x" for "--build-arg" flag: invalid environment variable: =x`},
		{[]string{"--label", "=x"}, `invalid argument "=x" for "--label" flag: invalid label '=x': empty name`},
		{[]string{"--label", "a\tb=1"}, `invalid argument "a\tb=1" for "--label" flag: label 'a	b' contains whitespaces`},
		{[]string{"--add-host", "bad"}, `invalid argument "bad" for "--add-host" flag: bad format for add-host: "bad"`},
		{[]string{"--add-host", "h:notip"}, `invalid argument "h:notip" for "--add-host" flag: invalid IP address in add-host: "notip"`},
		{[]string{"--ulimit", "nofile"}, `invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile`},
		{[]string{"-m", "xx"}, `invalid argument "xx" for "-m, --memory" flag: invalid size: 'xx'`},
		{[]string{"--shm-size", "1q"}, `invalid argument "1q" for "--shm-size" flag: invalid suffix: 'q'`},
		{[]string{"--memory-swap", "-5"}, `invalid argument "-5" for "--memory-swap" flag: invalid size: '-5'`},
	}
	for _, tc := range errTests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			err := newSet().Parse(tc.args)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.args)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("help", func(t *testing.T) {
		t.Parallel()
		// Type names and defaults as in `DOCKER_BUILDKIT=0 docker build
		// --help` [binary], compared with runs of spaces collapsed.
		var got []string
		for _, line := range strings.Split(newSet().FlagUsagesWrapped(0), "\n") {
			if line != "" {
				got = append(got, strings.Join(strings.Fields(line), " "))
			}
		}
		want := []string{
			`--add-host list Add a custom host-to-IP mapping ("host:ip")`,
			"--build-arg list Set build-time variables",
			"--cache-from strings Images to consider as cache sources",
			"--label list Set metadata for an image",
			"-m, --memory bytes Memory limit",
			"--memory-swap bytes Swap limit equal to memory plus swap: -1 to enable unlimited swap",
			`--shm-size bytes Size of "/dev/shm"`,
			`-t, --tag list Name and optionally a tag in the "name:tag" format`,
			"--ulimit ulimit Ulimit options (default [])",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("usage mismatch (-want +got):\n%s", diff)
		}
	})
}
