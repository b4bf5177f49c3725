//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	dir, err := os.MkdirTemp("", "sparse")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "d.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/build") {
			d.ServeHTTP(w, r) // pings
			return
		}
		v.check(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(enginetest.DefaultStream(false, nil))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-H", "unix://"+sock, ctxDir)
	cmd.Env = []string{"HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("mybuild: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if problem := v.result(); problem != "" {
		t.Fatal(problem)
	}
	if !strings.Contains(stdout.String(), "Sending build context to Docker daemon   8.59GB") {
		t.Errorf("stdout lacks the 8.59GB upload line:\n%s", stdout.String())
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	t.Logf("uploaded and checked %d bytes in %v (%.0f MB/s), mybuild's peak RSS %.1f MB", int64(size), elapsed.Round(time.Millisecond), size/elapsed.Seconds()/1e6, float64(rss)/1e6)
	if rss >= 64<<20 {
		t.Errorf("peak RSS of mybuild = %d bytes: the upload is not streamed", rss)
	}
}

// tarVerifier reads a build context as it arrives and checks one entry:
// its size, the PAX size record, zeros up to its last byte.
type tarVerifier struct {
	name string
	size int64
	last byte

	mu      sync.Mutex
	done    bool
	problem string
}

func (v *tarVerifier) check(body io.Reader) {
	problem := v.read(body)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.done, v.problem = true, problem
}

func (v *tarVerifier) result() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.done {
		return "the daemon received no build"
	}
	return v.problem
}

func (v *tarVerifier) read(body io.Reader) string {
	tr := tar.NewReader(body)
	var names []string
	zero := make([]byte, 1<<20)
	buf := make([]byte, 1<<20)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Sprintf("reading the tar after %q: %v", names, err)
		}
		names = append(names, h.Name)
		if h.Name != v.name {
			continue
		}
		if h.Size != v.size || h.PAXRecords["size"] != strconv.FormatInt(v.size, 10) {
			return fmt.Sprintf("%s: size %d, PAX records %q; want %d in a PAX size record", h.Name, h.Size, h.PAXRecords, v.size)
		}
		var n int64
		for {
			m, err := io.ReadFull(tr, buf)
			chunk := buf[:m]
			if n+int64(m) == v.size {
				if m == 0 || chunk[m-1] != v.last {
					return fmt.Sprintf("%s: the last byte is not the one written", h.Name)
				}
				chunk = chunk[:m-1]
			}
			if !bytes.Equal(chunk, zero[:len(chunk)]) {
				return fmt.Sprintf("%s: a non-zero byte in the hole after offset %d", h.Name, n)
			}
			n += int64(m)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				return fmt.Sprintf("%s: reading after %d bytes: %v", h.Name, n, err)
			}
		}
		if n != v.size {
			return fmt.Sprintf("%s: %d bytes, want %d", h.Name, n, v.size)
		}
	}
	if strings.Join(names, " ") != "Dockerfile "+v.name {
		return fmt.Sprintf("entries %q, want Dockerfile and %s", names, v.name)
	}
	return ""
}
