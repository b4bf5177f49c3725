package buildkit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	digest "github.com/opencontainers/go-digest"
)

func TestParseOCILayout(t *testing.T) {
	d := digest.Digest("sha256:" + "ab12000000000000000000000000000000000000000000000000000000000000")
	for _, tc := range []struct {
		in, str string
		want    ociLayoutRef
		notOCI  bool
		wantErr bool
	}{
		{in: "oci-layout:///l", want: ociLayoutRef{path: "/l", tag: "latest"}, str: "oci-layout:///l:latest"},
		{in: "oci-layout:///l:v1", want: ociLayoutRef{path: "/l", tag: "v1"}},
		{in: "oci-layout:///l@" + d.String(), want: ociLayoutRef{path: "/l", digest: d}},
		{in: "oci-layout:///l:v1@" + d.String(), want: ociLayoutRef{path: "/l", tag: "v1", digest: d}},
		// Only the last colon starts the tag.
		{in: "oci-layout:///a:b:v1", want: ociLayoutRef{path: "/a:b", tag: "v1"}},
		// A Windows drive is no tag.
		{in: `oci-layout://C:\l`, want: ociLayoutRef{path: `C:\l`, tag: "latest"}, str: `oci-layout://C:\l:latest`},
		// Not a digest: part of the path.
		{in: "oci-layout:///l@x", want: ociLayoutRef{path: "/l@x", tag: "latest"}, str: "oci-layout:///l@x:latest"},
		{in: "docker-image://busybox", notOCI: true},
		{in: "/l", notOCI: true},
	} {
		got, ok, err := parseOCILayout(tc.in)
		if ok == tc.notOCI || (err != nil) != tc.wantErr {
			t.Errorf("%s: ok %v, err %v", tc.in, ok, err)
			continue
		}
		if !ok {
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(ociLayoutRef{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.in, diff)
		}
		str := tc.str
		if str == "" {
			str = tc.in
		}
		if got.String() != str {
			t.Errorf("%s: String %q, want %q", tc.in, got.String(), str)
		}
	}
}
