//go:build linux

package differential

import (
	"encoding/base64"
	"strings"
	"testing"
)

// slowHelper is a credential helper for many registries whose get fails
// for "fail*" and finds nothing for "gone*"; each call takes a moment, so
// that concurrent calls (mybuild) overlap.
const slowHelper = `#!/bin/sh
case "$1" in
list)
  printf '%s' '{"r1.example.com":"u","r2.example.com":"u","r3.example.com":"u","r4.example.com":"u","r5.example.com":"u","tok.example.com":"<token>","gone.example.com":"u"}' ;;
get)
  read -r server
  sleep 0.05
  case "$server" in
  fail*) echo "helper exploded"; exit 1 ;;
  gone*) echo "credentials not found in native keychain"; exit 1 ;;
  tok*) printf '{"ServerURL":"%s","Username":"<token>","Secret":"t-%s"}' "$server" "$server" ;;
  *) printf '{"ServerURL":"%s","Username":"u-%s","Secret":"p-%s"}' "$server" "$server" "$server" ;;
  esac ;;
*) exit 1 ;;
esac
`

// wantCredentials checks that docker's X-Registry-Config names these
// registries (in its sorted JSON) and that its stderr holds warn.
func wantCredentials(warn string, registries ...string) func(*testing.T, result) {
	return func(t *testing.T, r result) {
		t.Helper()
		if len(r.Builds) != 1 {
			t.Fatalf("harness: docker sent %d build requests, want 1", len(r.Builds))
		}
		js, err := base64.URLEncoding.DecodeString(r.Builds[0].Header.Get("X-Registry-Config"))
		if err != nil {
			t.Fatalf("harness: X-Registry-Config: %v", err)
		}
		for _, reg := range registries {
			if !strings.Contains(string(js), `"`+reg+`":{`) {
				t.Errorf("harness: docker's X-Registry-Config %s has no %s", js, reg)
			}
		}
		if !strings.Contains(r.Stderr, warn) {
			t.Errorf("harness: docker's stderr has no %q:\n%s", warn, r.Stderr)
		}
	}
}

// TestDifferentialCredentials: mybuild runs credential helpers
// concurrently (docker one after another); X-Registry-Config and the
// warnings must still be docker's.
func TestDifferentialCredentials(t *testing.T) {
	for _, tc := range []testCase{
		{name: "store with many entries and credHelpers", tree: basic, helper: slowHelper,
			config: `{"credsStore":"test","auths":{"r1.example.com":{"email":"e@x"}},"credHelpers":{"r2.example.com":"test","h1.example.com":"test","h2.example.com":"test","gone2.example.com":"test"}}`,
			check:  []func(*testing.T, result){wantCredentials("", "r1.example.com", "r5.example.com", "tok.example.com", "h2.example.com")}},
		{name: "a failing credHelper is left out with a warning", tree: basic, helper: slowHelper,
			config: `{"auths":{"a.example.com":{"auth":"dXNlcjpwYXNz"}},"credHelpers":{"h1.example.com":"test","fail.example.com":"test"}}`,
			check:  []func(*testing.T, result){wantCredentials("Failed to get credentials for registry: fail.example.com", "a.example.com", "h1.example.com")}},
		{name: "a credHelper that does not exist", tree: basic,
			config: `{"credHelpers":{"h1.example.com":"nosuchhelper"}}`,
			check:  []func(*testing.T, result){wantCredentials("Failed to get credentials for registry: h1.example.com")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.normalize = append(tc.normalize, logTime)
			runCase(t, tc, "")
		})
	}
}
