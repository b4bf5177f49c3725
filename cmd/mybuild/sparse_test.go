//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
	"github.com/mybuild/mybuild/internal/testfs"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// TestSparseFileOver8GiBUpload sends a context holding a sparse file one
// byte over 8 GiB through the binary and HTTP to a daemon that checks the
// tar as it arrives, storing none of it: the header carries the size in a
// PAX record (USTAR's size field stops at 8 GiB - 1), and the content is
// all zeros but the last byte.
func TestSparseFileOver8GiBUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: uploads 8 GiB")
	}
	const size = 8<<30 + 1
	bin := mybuildBinary(t)
	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testfs.SparseFile(t, filepath.Join(ctxDir, "huge"), size, '!')

	v := &tarVerifier{name: "huge", size: size, last: '!'}
	d := enginetest.New()
	host := testbed.ServeUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/build") {
			d.ServeHTTP(w, r) // pings
			return
		}
		v.check(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(enginetest.DefaultStream(false, nil))
	}))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-H", host, ctxDir)
	cmd.Env = []string{"HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	floor := resetPeakRSS(t)
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("mybuild: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if err := v.result(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "Sending build context to Docker daemon   8.59GB") {
		t.Errorf("stdout lacks the 8.59GB upload line:\n%s", stdout.String())
	}
	rss := peakRSS(t, cmd, floor, 64<<20)
	t.Logf("uploaded and checked %d bytes in %v (%.0f MB/s), mybuild's peak RSS %.1f MB", int64(size), elapsed.Round(time.Millisecond), size/elapsed.Seconds()/1e6, float64(rss)/1e6)
}

// tarVerifier checks the build context a daemon receives with
// testfs.CheckSparseTar.
type tarVerifier struct {
	name string
	size int64
	last byte

	mu   sync.Mutex
	done bool
	err  error
}

func (v *tarVerifier) check(body io.Reader) {
	err := testfs.CheckSparseTar(body, []string{"Dockerfile", v.name}, v.name, v.size, v.last)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.done, v.err = true, err
}

func (v *tarVerifier) result() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.done {
		return errors.New("the daemon received no build")
	}
	return v.err
}
