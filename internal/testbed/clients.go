package testbed

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// BuildMybuild builds cmd/mybuild into dir and returns its path.
func BuildMybuild(dir string) (string, error) {
	bin := filepath.Join(dir, "mybuild")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, "github.com/mybuild/mybuild/cmd/mybuild").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build mybuild: %v\n%s", err, out)
	}
	return bin, nil
}

// CleanEnv is this process's environment without the machine's docker,
// buildx and BuildKit settings (and its ssh agent), then extra.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "DOCKER_") || strings.HasPrefix(k, "BUILDX_") || strings.HasPrefix(k, "BUILDKIT_") || k == "SSH_AUTH_SOCK" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// Ping asks the docker daemon at a unix:// host for /_ping, which must
// answer OK.
func Ping(host string) error {
	sock := strings.TrimPrefix(host, "unix://")
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://docker/_ping")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK || string(body) != "OK" {
		return fmt.Errorf("/_ping answered %s %q", resp.Status, body)
	}
	return nil
}
