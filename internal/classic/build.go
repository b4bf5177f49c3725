// Package classic is docker's legacy builder, byte for byte with
// `DOCKER_BUILDKIT=0 docker build`: the API checks, the context as a tar
// (gzipped when asked or when the daemon is on another machine),
// X-Registry-Config, POST /build, and the daemon's JSON stream rendered as
// docker renders it (or as mybuild's live view on a terminal).
package classic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/pkg/engine"
)

// Builder is the classic builder; the request's Daemon must be set.
type Builder struct{}

// run is one classic build: the request and what the build decides of it.
type run struct {
	*build.Request
	compress     bool
	autoCompress bool         // compress was mybuild's choice, not the user's
	files        atomic.Int64 // tar entries written
	sent         atomic.Int64 // bytes of the request body
}

const sendingAction = "Sending build context to Docker daemon"

// Build sends the build to the daemon and renders its answer. Once the
// daemon has answered, a failed build returns its Result so far too.
func (Builder) Build(ctx context.Context, req *build.Request) (*build.Result, error) {
	res := &build.Result{Started: time.Now()}
	o := &run{Request: req, compress: req.Classic.Compress}
	client := req.Daemon.Client
	if err := checkDaemonSupport(ctx, req.Daemon, req.Classic.Requires); err != nil {
		return nil, err
	}
	if err := checkInvocation(req); err != nil {
		return nil, err
	}
	// Whether the daemon is on another machine may take a DNS lookup:
	// asked at most once, and only if compression or the warning needs it.
	remote := sync.OnceValue(func() bool { return isRemote(ctx, client.Host()) })
	if err := o.chooseCompression(remote); err != nil {
		return nil, err
	}
	out := newOutputs(req)
	if err := removeImageIDFile(req.ImageIDFile); err != nil {
		return nil, err
	}
	src, err := o.openContext(ctx)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	body := &countingReader{r: out.uploadBody(ctx, src, o.compress), n: &o.sent}
	bo := buildOptions(ctx, req, client.Host(), src.dockerfile)
	if ctx.Err() != nil { // interrupted while the credential helpers ran
		return nil, context.Cause(ctx)
	}
	warnPlainCredentials(req.IO.ErrOut, client.Host(), client.TLS(), len(bo.AuthConfigs), remote, req.Getenv)
	resp, err := client.Build(ctx, body, bo)
	out.uploadDone()
	if err != nil {
		return nil, sendError(ctx, err, src, out)
	}
	defer resp.Body.Close()
	st := &steps{now: time.Now}
	imageID, err := showStream(ctx, resp.Body, out, st.stream)
	if err == nil {
		res.ImageID, err = finish(req, out, imageID)
	}
	res.Steps = st.finish(err)
	res.ContextBytes, res.ContextFiles = o.sent.Load(), o.files.Load()
	res.Finished = time.Now()
	return res, err
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// checkDaemonSupport pings the daemon and refuses flags it cannot honour,
// with docker's messages. A daemon that does not answer is not an error
// yet: the build request reports it, after the context has been checked.
func checkDaemonSupport(ctx context.Context, d *build.Daemon, requires []build.Requirement) error {
	ping, err := d.StartupPing(ctx)
	experimental := true // docker's assumption when the ping fails
	if err == nil {
		experimental = ping.Experimental
	}
	c := d.Client
	if err == nil || ping.APIVersion != "" {
		// A daemon that fails its ping but names its version (a 500) is
		// negotiated with all the same, as docker does.
		c.Negotiate(ping)
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var errs []string
	v := c.Version()
	for _, r := range requires {
		// As docker: an API version too old is the only complaint.
		switch {
		case r.APIVersion != "" && engine.VersionLess(v, r.APIVersion):
			errs = append(errs, fmt.Sprintf(`"--%s" requires API version %s, but the Docker daemon API version is %s`, r.Flag, r.APIVersion, v))
		case r.Experimental && !experimental:
			errs = append(errs, fmt.Sprintf(`"--%s" is only supported on a Docker daemon with experimental features enabled`, r.Flag))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

func checkInvocation(o *build.Request) error {
	if o.DockerfilePath == "-" && o.ContextPath == "-" {
		return errors.New("invalid argument: can't use stdin for both build context and dockerfile")
	}
	if !o.Classic.Untrusted {
		return errors.New("mybuild does not support Docker Content Trust: unset DOCKER_CONTENT_TRUST or pass --disable-content-trust")
	}
	return nil
}

func removeImageIDFile(name string) error {
	if name == "" {
		return nil
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("Removing image ID file: %w", err)
	}
	return nil
}
