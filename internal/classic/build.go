// Package classic is docker's legacy builder, byte for byte with
// `DOCKER_BUILDKIT=0 docker build`: the API checks, the context as a tar
// (gzipped when asked or when the daemon is on another machine),
// X-Registry-Config, POST /build, and the daemon's JSON stream rendered as
// docker renders it (or as mybuild's live view on a terminal).
package classic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/dockerlog"
	"github.com/mybuild/mybuild/internal/opts"
	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
	"github.com/mybuild/mybuild/pkg/dockerignore"
	"github.com/mybuild/mybuild/pkg/engine"
	"github.com/mybuild/mybuild/pkg/jsonstream"
	"github.com/mybuild/mybuild/pkg/remotecontext"
)

// Builder is the classic builder; the request's Daemon must be set.
type Builder struct{}

// run is one classic build: the request and what the build decides of it.
type run struct {
	*build.Request
	compress     bool
	autoCompress bool // compress was mybuild's choice, not the user's
}

const sendingAction = "Sending build context to Docker daemon"

// Build sends the build to the daemon and renders its answer.
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
	body := out.uploadBody(ctx, src, o.compress)
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
	imageID, err := showStream(ctx, resp.Body, out)
	if err != nil {
		return nil, err
	}
	if res.ImageID, err = finish(req, out, imageID); err != nil {
		return nil, err
	}
	res.Finished = time.Now()
	return res, nil
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

// outputs are where progress and the daemon's stream go: stdout, or
// buffers with -q (replayed on stderr if the build fails). tty selects
// mybuild's live terminal view; otherwise output is docker's, byte for byte.
type outputs struct {
	stdout   io.Writer
	stderr   io.Writer
	quiet    bool
	tty      bool
	width    int
	start    time.Time // of the build, for the time the live view prints
	color    bool
	noColor  bool // NO_COLOR: the daemon's colours are dropped too
	progress io.Writer
	build    io.Writer
	progBuf  *lockedBuffer
	buildBuf *lockedBuffer
	meter    *jsonstream.UploadMeter
	sizing   func() // stops the walk that finds the meter's total
}

func newOutputs(o *build.Request) *outputs {
	out := &outputs{stdout: o.IO.Out, stderr: o.IO.ErrOut, quiet: o.Quiet, progress: o.IO.Out, build: o.IO.Out, noColor: o.Getenv("NO_COLOR") != ""}
	if o.Quiet {
		out.progBuf, out.buildBuf = &lockedBuffer{}, &lockedBuffer{}
		out.progress, out.build = out.progBuf, out.buildBuf
		return out
	}
	if o.Progress == "tty" || (o.Progress == "auto" && o.IO.IsStdoutTTY()) {
		out.tty, out.width, out.start = true, o.IO.TerminalWidth(), time.Now()
		out.color = !out.noColor && o.Getenv("TERM") != "dumb"
	}
	return out
}

// uploadBody counts the context on its way out: a live meter on a
// terminal, docker's "Sending build context" line elsewhere.
func (out *outputs) uploadBody(ctx context.Context, src *contextSource, compressed bool) io.Reader {
	if out.tty {
		out.meter = jsonstream.NewUploadMeter(out.progress, sendingAction, out.width, time.Now)
		if src.tar != nil && !compressed {
			out.sizing = sizeForMeter(ctx, src.tar, out.meter)
		}
		return out.meter.Wrap(src)
	}
	return &jsonstream.ProgressReader{R: src, Report: jsonstream.FinalLine(out.progress, sendingAction)}
}

// uploadDone ends the live meter's line once the request is answered.
func (out *outputs) uploadDone() {
	if out.sizing != nil {
		out.sizing()
	}
	if out.meter != nil {
		out.meter.Finish()
	}
}

// display renders the daemon's stream the chosen way.
func (out *outputs) display(ctx context.Context, body io.Reader, o jsonstream.Options) error {
	o.NoColor = out.noColor
	if out.tty {
		return jsonstream.DisplayTTY(ctx, body, out.build, jsonstream.TTYOptions{Options: o, Width: out.width, Color: out.color, Start: out.start})
	}
	return jsonstream.Display(ctx, body, out.build, o)
}

// lockedBuffer is written by the upload goroutine and read by ours.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
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

func buildOptions(ctx context.Context, o *build.Request, host, dockerfile string) engine.BuildOptions {
	buildArgs := opts.ConvertKVStringsToMapWithNil(o.BuildArgs, o.LookupEnv)
	c := o.Classic
	platform := ""
	if len(o.Platforms) > 0 {
		platform = o.Platforms[0]
	}
	return engine.BuildOptions{
		Tags:           o.Tags,
		SuppressOutput: o.Quiet,
		NoCache:        o.NoCache,
		Remove:         c.Rm,
		ForceRemove:    c.ForceRm,
		PullParent:     o.Pull,
		Squash:         c.Squash,
		Isolation:      c.Isolation,
		CPUSetCPUs:     c.CPUSetCPUs,
		CPUSetMems:     c.CPUSetMems,
		CPUShares:      c.CPUShares,
		CPUQuota:       c.CPUQuota,
		CPUPeriod:      c.CPUPeriod,
		Memory:         c.Memory,
		MemorySwap:     c.MemorySwap,
		CgroupParent:   o.CgroupParent,
		NetworkMode:    o.NetworkMode,
		ShmSize:        o.ShmSize,
		Dockerfile:     dockerfile,
		Ulimits:        engineUlimits(o.Ulimits),
		BuildArgs:      o.Config.ProxyBuildArgs(host, buildArgs),
		Labels:         opts.ConvertKVStringsToMap(o.Labels),
		CacheFrom:      o.CacheFrom,
		SecurityOpt:    c.SecurityOpt,
		ExtraHosts:     o.ExtraHosts,
		Target:         o.Target,
		Platform:       platform,
		AuthConfigs:    authConfigs(o.Config.Credentials(ctx, dockerlog.New(o.IO.ErrOut))),
	}
}

// authConfigs is X-Registry-Config's map of the credentials read.
func authConfigs(creds map[string]dockerconfig.Credential) map[string]engine.AuthConfig {
	out := make(map[string]engine.AuthConfig, len(creds))
	for k, c := range creds {
		out[k] = engine.AuthConfig(c)
	}
	return out
}

func engineUlimits(in []*opts.Ulimit) []engine.Ulimit {
	out := make([]engine.Ulimit, 0, len(in))
	for _, u := range in {
		out = append(out, engine.Ulimit{Name: u.Name, Hard: u.Hard, Soft: u.Soft})
	}
	return out
}

// sendError explains a failed request. A context problem found while
// streaming wins, as docker finds those before it connects; when the
// daemon could not be reached the context is checked first for the same
// reason.
func sendError(ctx context.Context, err error, src *contextSource, out *outputs) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if werr := src.walkError(); werr != nil {
		return werr
	}
	var ce *engine.ConnectionError
	if errors.As(err, &ce) && src.tar != nil {
		if werr := src.tar.Check(ctx); werr != nil {
			return werr
		}
	}
	if out.quiet {
		fmt.Fprint(out.stderr, out.progBuf.String())
	}
	return err
}

// showStream renders the daemon's answer and returns the image ID it gave.
func showStream(ctx context.Context, body io.Reader, out *outputs) (string, error) {
	var imageID string
	onAux := func(raw json.RawMessage) {
		id, err := jsonstream.ImageID(raw)
		if err != nil {
			fmt.Fprintf(out.stderr, "Failed to parse aux message: %s", err)
			return
		}
		imageID = id
	}
	err := out.display(ctx, body, jsonstream.Options{OnAux: onAux, Strict: true})
	if err == nil {
		return imageID, nil
	}
	if ctx.Err() != nil {
		return "", context.Cause(ctx)
	}
	if _, ok := jsonstream.IsStreamError(err); ok && out.quiet {
		fmt.Fprintf(out.stderr, "%s%s", out.progBuf.String(), out.buildBuf.String())
	}
	return "", err
}

// finish prints the ID for -q and writes --iidfile; it returns the ID.
func finish(o *build.Request, out *outputs, imageID string) (string, error) {
	if o.Quiet {
		imageID = out.buildBuf.String()
		fmt.Fprint(out.stdout, imageID)
	}
	if o.ImageIDFile == "" {
		return imageID, nil
	}
	if imageID == "" {
		return "", fmt.Errorf("Server did not provide an image ID. Cannot write %s", o.ImageIDFile)
	}
	return imageID, os.WriteFile(o.ImageIDFile, []byte(imageID), 0o666)
}
