package engine

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://user:secret@example.test/repo.git": "https://user:xxxxx@example.test/repo.git",
		`failed to GET "https://u:p@h.test/x": 404`: `failed to GET "https://u:xxxxx@h.test/x": 404`,
		"no url here": "no url here",
		"https://token@example.test/a (no password to redact)": "https://token@example.test/a (no password to redact)",
		"git@github.com:owner/repo.git":                        "git@github.com:owner/repo.git",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDebugLogRedactsCredentials(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"stream":"ok\n"}`))
	}))
	defer srv.Close()
	var log bytes.Buffer
	c, err := New(Config{Host: "tcp://" + strings.TrimPrefix(srv.URL, "http://"), Debug: &log})
	if err != nil {
		t.Fatal(err)
	}
	auths := map[string]AuthConfig{"r.test": {Username: "me", Password: "hunter2"}}
	resp, err := c.Build(t.Context(), strings.NewReader("tar"), BuildOptions{Remove: true, AuthConfigs: auths})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := log.String()
	reg, _ := RegistryConfigHeader(auths)
	if strings.Contains(out, "hunter2") || strings.Contains(out, reg) {
		t.Errorf("debug log leaks credentials:\n%s", out)
	}
	if !strings.Contains(out, `X-Registry-Config="<redacted>"`) || !strings.Contains(out, "POST /v1.41/build") {
		t.Errorf("debug log lacks the request line:\n%s", out)
	}
}
