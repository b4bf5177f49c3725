package buildkit

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/pkg/engine"
)

// noGRPCEndpoint is a daemon that has dropped the deprecated /grpc and
// /session endpoints (API 1.53 deprecated them): both answer 404.
type noGRPCEndpoint struct{ *engine.Client }

func (h noGRPCEndpoint) Hijack(ctx context.Context, path, proto string, meta map[string][]string) (net.Conn, error) {
	return nil, &engine.APIError{StatusCode: 404, Message: "page not found"}
}

// TestDockerNodeNativeGRPC: without /grpc, the docker node speaks gRPC to
// the API socket itself (Engine 29.2 and later serve it there) and carries
// the session over Control.Session; a build of a context works so.
func TestDockerNodeNativeGRPC(t *testing.T) {
	sock := "/run/mybuild-engine29/docker.sock"
	if _, err := os.Stat(sock); err != nil {
		if os.Getenv("MYBUILD_E2E") == "1" {
			t.Fatalf("Engine 29 is not running (%v): run scripts/test-engine29.sh", err)
		}
		t.Skip("Engine 29 is not running: run scripts/test-engine29.sh")
	}
	c, err := engine.New(engine.Config{Host: "unix://" + sock, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /\n", "a.txt": "native " + t.Name() + time.Now().String() + "\n"}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	r := &Request{
		Input:    build.Input{ContextPath: dir, Progress: "plain", NetworkMode: "default"},
		BuildKit: build.BuildKit{Outputs: []string{"type=local,dest=" + out}, Call: "build"},
		Stdout:   &stdout, Stderr: &stderr, Stdin: strings.NewReader(""),
		Getenv: func(string) string { return "" }, LookupEnv: func(string) (string, bool) { return "", false },
		BuildxDir: t.TempDir(),
	}
	b := &Instance{Name: "default", Driver: "docker", Nodes: []*Node{DockerNode(noGRPCEndpoint{c}, c)}}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := buildOn(ctx, b, r); err != nil {
		t.Fatalf("build: %v\n%s", err, stderr.String())
	}
	got, err := os.ReadFile(filepath.Join(out, "a.txt"))
	if err != nil || string(got) != files["a.txt"] {
		t.Errorf("exported a.txt = %q, %v; want %q", got, err, files["a.txt"])
	}
	if !strings.Contains(stderr.String(), "#0 building with \"default\" instance using docker driver") {
		t.Errorf("progress:\n%s", stderr.String())
	}
}
