package buildkit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The BuildKit flags read as buildx v0.38.2 reads them, errors included
// (the texts are buildx's).
func TestParseSecrets(t *testing.T) {
	tests := []struct {
		in      string
		want    []secretSpec
		wantErr string
	}{
		{in: "id=a,src=/f", want: []secretSpec{{ID: "a", FilePath: "/f"}}},
		{in: "id=a,source=/f", want: []secretSpec{{ID: "a", FilePath: "/f"}}},
		{in: "id=a,env=E", want: []secretSpec{{ID: "a", Env: "E"}}},
		{in: "type=env,id=a,src=E", want: []secretSpec{{ID: "a", Env: "E"}}},
		{in: "ID=a", want: []secretSpec{{ID: "a"}}},
		{in: "idx=1", wantErr: "unexpected key 'idx' in 'idx=1'"},
		{in: "id", wantErr: "invalid field 'id' must be a key=value pair"},
		{in: "type=x,id=a", wantErr: `unsupported secret type "x"`},
		{in: `id="a`, wantErr: `failed to parse csv secret: parse error on line 1, column 4: bare " in non-quoted-field`},
	}
	for _, tt := range tests {
		got, err := parseSecrets([]string{tt.in})
		if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
			t.Errorf("%q: error (-want +got):\n%s", tt.in, diff)
			continue
		}
		if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
			t.Errorf("%q: (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseExports(t *testing.T) {
	tests := []struct {
		in      string
		want    []exportEntry
		wantErr string
	}{
		{in: "out", want: []exportEntry{{Type: "local", Destination: "out", Attrs: map[string]string{}}}},
		{in: "-", want: []exportEntry{{Type: "tar", Destination: "-", Attrs: map[string]string{}}}},
		{in: "type=oci,dest=o.tar,Name=x", want: []exportEntry{{Type: "oci", Destination: "o.tar", Attrs: map[string]string{"name": "x"}}}},
		{in: "dest=x", want: []exportEntry{{Type: "local", Destination: "dest=x", Attrs: map[string]string{}}}}, // one field: a path
		{in: "type=,dest=x", wantErr: "type is required for output"},
		{in: "type=local,x", wantErr: "invalid value x"},
	}
	for _, tt := range tests {
		got, err := parseExports([]string{tt.in})
		if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
			t.Errorf("%q: error (-want +got):\n%s", tt.in, diff)
			continue
		}
		if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
			t.Errorf("%q: (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseCacheEntries(t *testing.T) {
	tests := []struct {
		in      string
		want    []cacheEntry
		wantErr string
	}{
		{in: "user/app:cache", want: []cacheEntry{{Type: "registry", Attrs: map[string]string{"ref": "user/app:cache"}}}},
		{in: "a/b,c/d", want: []cacheEntry{{Type: "registry", Attrs: map[string]string{"ref": "a/b"}}, {Type: "registry", Attrs: map[string]string{"ref": "c/d"}}}},
		{in: "type=local,src=/c,MODE=max", want: []cacheEntry{{Type: "local", Attrs: map[string]string{"src": "/c", "mode": "max"}}}},
		{in: "src=/c", wantErr: `type required for "src=/c"`},
		{in: "type=local,x", wantErr: "invalid value x"},
	}
	for _, tt := range tests {
		got, err := parseCacheEntries([]string{tt.in})
		if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
			t.Errorf("%q: error (-want +got):\n%s", tt.in, diff)
			continue
		}
		if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
			t.Errorf("%q: (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestAttests(t *testing.T) {
	parsed, err := parseAttests([]string{
		"type=sbom,generator=x/y",
		canonicalAttest("provenance", "mode=max"),
		canonicalAttest("sbom", "false"), // the first of a type wins
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range attestMap(parsed) {
		if v == nil {
			got[k] = "<disabled>"
		} else {
			got[k] = *v
		}
	}
	want := map[string]string{"sbom": "type=sbom,generator=x/y", "provenance": "type=provenance,mode=max"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if m := attestMap(mustAttests(t, canonicalAttest("provenance", "false"))); m["provenance"] != nil {
		t.Errorf("--provenance=false = %q, want disabled", *m["provenance"])
	}
	for in, want := range map[string]string{
		"generator=x":         "attestation type not specified",
		"type=sbom,x":         "invalid value x",
		"type=sbom,disabled=": `invalid value disabled=: strconv.ParseBool: parsing "": invalid syntax`,
	} {
		if _, err := parseAttests([]string{in}); errString(err) != want {
			t.Errorf("%q: error %q, want %q", in, errString(err), want)
		}
	}
}

func mustAttests(t *testing.T, in ...string) []attest {
	t.Helper()
	a, err := parseAttests(in)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseCallFunc(t *testing.T) {
	tests := []struct {
		in      string
		want    *callFunc
		wantErr string
	}{
		{in: "build"},
		{in: ""},
		{in: "check", want: &callFunc{Name: "lint"}},
		{in: "outline,format=json", want: &callFunc{Name: "outline", Format: "json"}},
		{in: "targets,ignorestatus=true", want: &callFunc{Name: "targets", IgnoreStatus: true}},
		{in: "a,b", wantErr: "invalid print value: a,b"},
		{in: "a,x=y", wantErr: "invalid print field: x=y"},
		{in: "a,ignorestatus=maybe", wantErr: `invalid ignorestatus print value: maybe: strconv.ParseBool: parsing "maybe": invalid syntax`},
	}
	for _, tt := range tests {
		got, err := parseCallFunc(tt.in)
		if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
			t.Errorf("%q: error (-want +got):\n%s", tt.in, diff)
			continue
		}
		if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
			t.Errorf("%q: (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseAnnotationsAndContexts(t *testing.T) {
	for in, want := range map[string]string{
		"novalue":                   `invalid annotation "novalue", expected key=value`,
		"bogus:k=v":                 `unknown annotation type "bogus"`,
		"index[x y]:k=v":            `invalid annotation type "index[x y]", expected type and optional platform in square brackets`,
		"manifest[linux/amd64]:k=v": "",
	} {
		if _, err := parseAnnotations([]string{in}); errString(err) != want {
			t.Errorf("annotation %q: error %q, want %q", in, errString(err), want)
		}
	}
	got, err := parseNamedContexts([]string{"alpine:latest=docker-image://x", "foo=dir"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"alpine": "docker-image://x", "foo": "dir"}, got); diff != "" {
		t.Errorf("contexts (-want +got):\n%s", diff)
	}
	if _, err := parseNamedContexts([]string{"x"}); errString(err) != "invalid context value: x, expected key=value" {
		t.Errorf("context without value: %v", err)
	}
}

func TestKeyValues(t *testing.T) {
	env := map[string]string{"FROM_ENV": "e"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got, err := keyValues([]string{"A=1", "FROM_ENV", "UNSET", "B="}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"A": "1", "FROM_ENV": "e", "B": ""}, got); diff != "" {
		t.Errorf("build args (-want +got):\n%s", diff)
	}
	labels, _ := keyValues([]string{"l"}, nil)
	if diff := cmp.Diff(map[string]string{"l": ""}, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if _, err := keyValues([]string{"=x"}, nil); errString(err) != `invalid key-value pair "=x": empty key` {
		t.Errorf("empty key: %v", err)
	}
}
