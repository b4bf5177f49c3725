package engine_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/mybuild/mybuild/pkg/engine"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// TestEmptyErrorBody: an HTTP error without a body reads as docker's, with
// the status line and the request's URL, which names the socket over unix
// (docker's URL) while the Host header stays api.moby.localhost.
func TestEmptyErrorBody(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			d := enginetest.New(enginetest.WithBuildResponse(503, "text/plain", nil))
			var host, urlHost, wantHeader string
			if network == "unix" {
				sock := d.ListenUnix(t)
				host, urlHost, wantHeader = "unix://"+sock, sock, "api.moby.localhost"
			} else {
				addr := d.ListenTCP(t)
				host, urlHost, wantHeader = "tcp://"+addr, addr, addr
			}
			c, err := engine.New(engine.Config{Host: host})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Build(t.Context(), strings.NewReader(""), engine.BuildOptions{Remove: true, Dockerfile: "Dockerfile"})
			u := url.URL{Scheme: "http", Host: urlHost, Path: "/v" + enginetest.DefaultAPIVersion + "/build", RawQuery: "dockerfile=Dockerfile&version=1"}
			want := "request returned 503 Service Unavailable for API route and version " + u.String() +
				", check if the server supports the requested API version"
			if err == nil || err.Error() != want {
				t.Errorf("error = %v\nwant    %s", err, want)
			}
			if network == "unix" && !strings.Contains(want, "http://%2F") {
				t.Errorf("the URL does not name the socket: %s", want)
			}
			d.Wait()
			if calls := d.Calls(); len(calls) == 0 || calls[len(calls)-1].Host != wantHeader {
				t.Errorf("Host header: calls %+v, want %q", calls, wantHeader)
			}
		})
	}
}
