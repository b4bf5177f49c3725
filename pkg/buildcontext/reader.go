package buildcontext

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// archiveHeaderSize is how much of a stream is sniffed: one tar header.
const archiveHeaderSize = 512

// IsArchive reports whether header starts a compressed stream (bzip2,
// gzip, xz, zstd) or a tar, as docker decides for stdin and URL contexts.
func IsArchive(header []byte) bool {
	if Compression(header) != "" {
		return true
	}
	_, err := tar.NewReader(bytes.NewReader(header)).Next()
	return err == nil
}

// Compression names the compression a stream starts with, "" for none.
func Compression(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("BZh")):
		return "bzip2"
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b, 0x08}):
		return "gzip"
	case bytes.HasPrefix(b, []byte{0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}):
		return "xz"
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	case len(b) >= 4 && binary.LittleEndian.Uint32(b)&0xfffffff0 == 0x184d2a50:
		return "zstd"
	}
	return ""
}

// FromReader turns a stdin or downloaded context into a request body: an
// archive is forwarded byte for byte (still compressed); anything else is
// a Dockerfile, wrapped into a one-entry tar with the user's own uid/gid
// as docker does. It returns the body and the dockerfile parameter.
func FromReader(ctx context.Context, r io.Reader, dockerfileFlag string) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(archiveHeaderSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("failed to peek context header from STDIN: %v", err)
	}
	if IsArchive(magic) {
		return io.NopCloser(br), dockerfileFlag, nil
	}
	if dockerfileFlag == "-" {
		return nil, "", errors.New("build context is not an archive")
	}
	if dockerfileFlag != "" {
		return nil, "", errors.New("ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles")
	}
	dir, err := os.MkdirTemp("", "docker-build-context-")
	if err != nil {
		return nil, "", fmt.Errorf("unable to create temporary context directory: %v", err)
	}
	if err := writeFile(filepath.Join(dir, DefaultDockerfileName), br); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	t, err := NewTar(dir, TarOptions{KeepOwner: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return &cleanupReader{ReadCloser: t.Stream(ctx), cleanup: func() { os.RemoveAll(dir) }}, DefaultDockerfileName, nil
}

func writeFile(name string, r io.Reader) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cleanupReader runs cleanup once when closed.
type cleanupReader struct {
	io.ReadCloser
	cleanup func()
	done    bool
}

func (c *cleanupReader) Close() error {
	err := c.ReadCloser.Close()
	if !c.done {
		c.done = true
		c.cleanup()
	}
	return err
}
