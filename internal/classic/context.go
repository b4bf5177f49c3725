package classic

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/dockerlog"
	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/dockerignore"
	"github.com/mybuild/mybuild/pkg/remotecontext"
)

// contextSource is the request body: a tar stream and what it says about
// the Dockerfile.
type contextSource struct {
	io.ReadCloser
	dockerfile string
	tar        *buildcontext.Tar
	cleanup    func()
}

// Close ends the stream and removes a temporary clone.
func (s *contextSource) Close() error {
	err := s.ReadCloser.Close()
	if s.cleanup != nil {
		s.cleanup()
	}
	return err
}

// walkError is the context problem found while streaming, if any.
func (s *contextSource) walkError() error {
	if s.tar == nil {
		return nil
	}
	var ce *buildcontext.ContextError
	if err := s.tar.Err(); errors.As(err, &ce) {
		return ce
	}
	return nil
}

// openContext classifies the context argument as docker does: "-" is
// stdin, an existing path is a local directory, then git and http(s) URLs.
func (o *run) openContext(ctx context.Context) (*contextSource, error) {
	switch {
	case o.ContextPath == "-":
		body, dockerfile, err := buildcontext.FromReader(ctx, o.IO.In, o.DockerfilePath)
		if err != nil {
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
		return &contextSource{ReadCloser: o.compressed(body, true), dockerfile: dockerfile}, nil
	case statOK(o.ContextPath):
		return o.openLocal(ctx)
	case remotecontext.IsGitURL(o.ContextPath):
		dir, cleanup, err := remotecontext.CloneGit(ctx, o.ContextPath)
		if err != nil {
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
		src, err := o.openDir(ctx, func() (*buildcontext.Local, error) { return remotecontext.ResolveGitDockerfile(dir, o.DockerfilePath) })
		if err != nil {
			cleanup()
			return nil, err
		}
		src.cleanup = cleanup
		return src, nil
	case remotecontext.IsURL(o.ContextPath):
		out := o.IO.Out
		if o.Quiet {
			out = io.Discard
		}
		r, err := remotecontext.Download(ctx, o.ContextPath, out)
		if err != nil {
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
		body, dockerfile, err := buildcontext.FromReader(ctx, r, o.DockerfilePath)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
		return &contextSource{ReadCloser: o.compressed(body, true), dockerfile: dockerfile}, nil
	}
	return nil, fmt.Errorf("unable to prepare context: path %q not found", o.ContextPath)
}

func statOK(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// chooseCompression settles whether the body is gzipped: --compress as
// given, else MYBUILD_COMPRESS, else automatically for a daemon on another
// machine (tcp:// or ssh:// to a non-loopback host), where the upload is
// bound by the network. The daemon detects gzip; the image is the same.
func (o *run) chooseCompression(remote func() bool) error {
	if o.Classic.CompressSet {
		return nil
	}
	if v := o.Getenv("MYBUILD_COMPRESS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid MYBUILD_COMPRESS %q: want 1 (always compress) or 0 (only with --compress)", v)
		}
		o.compress = on
		return nil
	}
	o.compress = remote()
	o.autoCompress = o.compress
	return nil
}

// compressed gzips the body when compression is on. An automatic choice
// leaves a stdin or downloaded archive that is already compressed as it is.
func (o *run) compressed(body io.ReadCloser, mayBeCompressed bool) io.ReadCloser {
	if !o.compress {
		return body
	}
	if o.autoCompress && mayBeCompressed {
		br := bufio.NewReader(body)
		head, _ := br.Peek(8)
		body = struct {
			io.Reader
			io.Closer
		}{br, body}
		if buildcontext.Compression(head) != "" {
			return body
		}
	}
	return buildcontext.Compress(body)
}

func (o *run) openLocal(ctx context.Context) (*contextSource, error) {
	return o.openDir(ctx, func() (*buildcontext.Local, error) { return buildcontext.ResolveLocal(o.ContextPath, o.DockerfilePath) })
}

// openDir streams a directory context resolved by resolve.
func (o *run) openDir(ctx context.Context, resolve func() (*buildcontext.Local, error)) (*contextSource, error) {
	local, err := resolve()
	if err != nil {
		return nil, fmt.Errorf("unable to prepare context: %w", err)
	}
	var splice *buildcontext.Splice
	switch {
	case local.DockerfileFromStdin:
		if splice, err = newSplice(o.IO.In); err != nil {
			return nil, err
		}
	case local.Outside():
		f, err := os.Open(o.DockerfilePath)
		if err != nil {
			return nil, fmt.Errorf("unable to open Dockerfile: %v", err)
		}
		splice, err = newSplice(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	excludes, err := dockerignore.Read(local.Dir)
	if err != nil {
		return nil, err
	}
	t, err := buildcontext.NewTar(local.Dir, buildcontext.TarOptions{
		Excludes:            excludes,
		Dockerfile:          local.Dockerfile,
		DockerfileFromStdin: local.DockerfileFromStdin,
		Splice:              splice,
		Warn:                func(msg string) { dockerlog.Error(o.IO.ErrOut, msg) },
		OnEntry:             o.onEntry,
	})
	if err != nil {
		return nil, err
	}
	dockerfile := local.Dockerfile
	if splice != nil {
		dockerfile = splice.Name
	}
	return &contextSource{ReadCloser: o.compressed(t.Stream(ctx), false), dockerfile: dockerfile, tar: t}, nil
}

// splicedDockerfileName is the entry a Dockerfile from stdin or from outside
// the context is added under, with the same shape as docker's
// (".dockerfile." and 20 hex digits). Docker draws it at random, so the
// .dockerignore the daemon sees (it lists the name) changes every build and
// `COPY . …` never hits the cache (docker/cli#731); a fixed name keeps
// it cacheable.
const splicedDockerfileName = ".dockerfile.dc15ebebaaa239a7d6b2"

// newSplice reads a Dockerfile that is added to the context.
func newSplice(r io.Reader) (*buildcontext.Splice, error) {
	content, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return &buildcontext.Splice{Name: splicedDockerfileName, Content: content, Now: time.Now()}, nil
}

// onEntry counts the tar's entries and hands them to OnContextFile.
func (o *run) onEntry(h *tar.Header) {
	o.files.Add(1)
	if o.OnContextFile != nil {
		o.OnContextFile(build.ContextFile{
			Path: strings.TrimSuffix(path.Clean(h.Name), "/"), Size: h.Size, Mode: h.FileInfo().Mode(),
			ModTime: h.ModTime, UID: uint32(h.Uid), GID: uint32(h.Gid),
		})
	}
}
