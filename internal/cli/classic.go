package cli

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

	"github.com/mybuild/mybuild/internal/opts"
	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
	"github.com/mybuild/mybuild/pkg/dockerignore"
	"github.com/mybuild/mybuild/pkg/engine"
	"github.com/mybuild/mybuild/pkg/jsonstream"
	"github.com/mybuild/mybuild/pkg/remotecontext"
)

// Engine is what the classic build needs from a daemon client: a ping and
// POST /build, which takes the context as a tar body and answers with a
// JSON message stream. A BuildKit builder (a gRPC session over /grpc and
// /session) needs an interface of its own.
type Engine interface {
	Host() string
	TLS() bool
	Version() string
	Ping(ctx context.Context) (engine.Ping, error)
	Negotiate(engine.Ping)
	Build(ctx context.Context, body io.Reader, o engine.BuildOptions) (*engine.BuildResponse, error)
}

const sendingAction = "Sending build context to Docker daemon"

// initialPingTimeout is docker's bound on the start-up ping; a daemon that
// does not answer in time is asked again when the build is sent.
const initialPingTimeout = 2 * time.Second

func runBuild(ctx context.Context, o *BuildOptions) error {
	cfg, err := preflight(o)
	if err != nil {
		return err
	}
	client, err := newEngine(o, cfg)
	if err != nil {
		return err
	}
	if err := checkDaemonSupport(ctx, client, o); err != nil {
		return err
	}
	if err := checkInvocation(o); err != nil {
		return err
	}
	// Whether the daemon is on another machine may take a DNS lookup:
	// asked at most once, and only if compression or the warning needs it.
	remote := sync.OnceValue(func() bool { return isRemote(ctx, client.Host()) })
	if err := chooseCompression(o, remote); err != nil {
		return err
	}
	out := newOutputs(o)
	if err := removeImageIDFile(o.ImageIDFile); err != nil {
		return err
	}
	src, err := openContext(ctx, o)
	if err != nil {
		return err
	}
	defer src.Close()
	body := out.uploadBody(ctx, src, o.Compress)
	bo := buildOptions(ctx, o, cfg, client.Host(), src.dockerfile)
	if ctx.Err() != nil { // interrupted while the credential helpers ran
		return context.Cause(ctx)
	}
	warnPlainCredentials(o.IO.ErrOut, client.Host(), client.TLS(), len(bo.AuthConfigs), remote, o.Getenv)
	resp, err := client.Build(ctx, body, bo)
	out.uploadDone()
	if err != nil {
		return sendError(ctx, err, src, out)
	}
	defer resp.Body.Close()
	imageID, err := showStream(ctx, resp.Body, out)
	if err != nil {
		return err
	}
	return finish(o, out, imageID)
}

func newEngine(o *BuildOptions, cfg *dockerconfig.Config) (*engine.Client, error) {
	if o.selected != nil { // pinged already, to choose the builder
		return o.selected.client, nil
	}
	ec, err := engineConfig(o, cfg)
	if err != nil {
		return nil, err
	}
	return engine.New(ec)
}

// checkDaemonSupport pings the daemon and refuses flags it cannot honour,
// with docker's messages. A daemon that does not answer is not an error
// yet: the build request reports it, after the context has been checked.
func checkDaemonSupport(ctx context.Context, c Engine, o *BuildOptions) error {
	pctx, cancel := context.WithTimeout(ctx, initialPingTimeout)
	defer cancel()
	ping, err := o.startupPing(pctx, c)
	experimental := true // docker's assumption when the ping fails
	if err == nil {
		experimental = ping.Experimental
	}
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
	if o.changedNetwork && engine.VersionLess(v, "1.25") {
		errs = append(errs, fmt.Sprintf(`"--network" requires API version 1.25, but the Docker daemon API version is %s`, v))
	}
	if o.changedPlat && engine.VersionLess(v, "1.38") {
		errs = append(errs, fmt.Sprintf(`"--platform" requires API version 1.38, but the Docker daemon API version is %s`, v))
	}
	// As docker: --squash set at all (even to false) is checked, and an
	// API version too old is the only complaint.
	if o.changedSquash && engine.VersionLess(v, "1.25") {
		errs = append(errs, fmt.Sprintf(`"--squash" requires API version 1.25, but the Docker daemon API version is %s`, v))
	} else if o.changedSquash && !experimental {
		errs = append(errs, `"--squash" is only supported on a Docker daemon with experimental features enabled`)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// startupPing is the ping the builder was chosen with, else a new one.
func (o *BuildOptions) startupPing(ctx context.Context, c Engine) (engine.Ping, error) {
	if s := o.selected; s != nil && s.pinged {
		return s.ping, s.pingErr
	}
	return c.Ping(ctx)
}

// checkBuildkitEnv rejects a DOCKER_BUILDKIT that is not a boolean, as
// docker does (the builder was chosen from it before; see chooseBuilder).
func checkBuildkitEnv(v string) error {
	if v == "" {
		return nil
	}
	if _, err := strconv.ParseBool(v); err != nil {
		return fmt.Errorf("DOCKER_BUILDKIT environment variable expects boolean value: %w", err)
	}
	return nil
}

// checkLogLevel accepts the levels docker's logger knows, and "" (docker
// then keeps its default).
func checkLogLevel(level string) error {
	switch strings.ToLower(level) {
	case "", "panic", "fatal", "error", "warn", "warning", "info", "debug", "trace":
		return nil
	}
	return fmt.Errorf("Unable to parse logging level: %s", level)
}

func checkInvocation(o *BuildOptions) error {
	if o.Dockerfile == "-" && o.Context == "-" {
		return errors.New("invalid argument: can't use stdin for both build context and dockerfile")
	}
	if !o.Untrusted {
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

func newOutputs(o *BuildOptions) *outputs {
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
func openContext(ctx context.Context, o *BuildOptions) (*contextSource, error) {
	switch {
	case o.Context == "-":
		body, dockerfile, err := buildcontext.FromReader(ctx, o.IO.In, o.Dockerfile)
		if err != nil {
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
		return &contextSource{ReadCloser: compressed(o, body, true), dockerfile: dockerfile}, nil
	case statOK(o.Context):
		return openLocal(ctx, o)
	case remotecontext.IsGitURL(o.Context):
		dir, cleanup, err := remotecontext.CloneGit(ctx, o.Context)
		if err != nil {
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
		src, err := openDir(ctx, o, func() (*buildcontext.Local, error) { return remotecontext.ResolveGitDockerfile(dir, o.Dockerfile) })
		if err != nil {
			cleanup()
			return nil, err
		}
		src.cleanup = cleanup
		return src, nil
	case remotecontext.IsURL(o.Context):
		out := o.IO.Out
		if o.Quiet {
			out = io.Discard
		}
		r, err := remotecontext.Download(ctx, o.Context, out)
		if err != nil {
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
		body, dockerfile, err := buildcontext.FromReader(ctx, r, o.Dockerfile)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("unable to prepare context: %w", err)
		}
		return &contextSource{ReadCloser: compressed(o, body, true), dockerfile: dockerfile}, nil
	}
	return nil, fmt.Errorf("unable to prepare context: path %q not found", o.Context)
}

func statOK(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// chooseCompression settles whether the body is gzipped: --compress as
// given, else MYBUILD_COMPRESS, else automatically for a daemon on another
// machine (tcp:// or ssh:// to a non-loopback host), where the upload is
// bound by the network. The daemon detects gzip; the image is the same.
func chooseCompression(o *BuildOptions, remote func() bool) error {
	if o.compressSet {
		return nil
	}
	if v := o.Getenv("MYBUILD_COMPRESS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid MYBUILD_COMPRESS %q: want 1 (always compress) or 0 (only with --compress)", v)
		}
		o.Compress = on
		return nil
	}
	o.Compress = remote()
	o.autoCompress = o.Compress
	return nil
}

// compressed gzips the body when compression is on. An automatic choice
// leaves a stdin or downloaded archive that is already compressed as it is.
func compressed(o *BuildOptions, body io.ReadCloser, mayBeCompressed bool) io.ReadCloser {
	if !o.Compress {
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

func openLocal(ctx context.Context, o *BuildOptions) (*contextSource, error) {
	return openDir(ctx, o, func() (*buildcontext.Local, error) { return buildcontext.ResolveLocal(o.Context, o.Dockerfile) })
}

// openDir streams a directory context resolved by resolve.
func openDir(ctx context.Context, o *BuildOptions, resolve func() (*buildcontext.Local, error)) (*contextSource, error) {
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
		f, err := os.Open(o.Dockerfile)
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
		Warn:                func(msg string) { logError(o.IO.ErrOut, msg) },
	})
	if err != nil {
		return nil, err
	}
	dockerfile := local.Dockerfile
	if splice != nil {
		dockerfile = splice.Name
	}
	return &contextSource{ReadCloser: compressed(o, t.Stream(ctx), false), dockerfile: dockerfile, tar: t}, nil
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

func buildOptions(ctx context.Context, o *BuildOptions, cfg *dockerconfig.Config, host, dockerfile string) engine.BuildOptions {
	buildArgs := opts.ConvertKVStringsToMapWithNil(o.BuildArgs.GetAll(), o.LookupEnv)
	return engine.BuildOptions{
		Tags:           o.Tags.GetAll(),
		SuppressOutput: o.Quiet,
		NoCache:        o.NoCache,
		Remove:         o.Rm,
		ForceRemove:    o.ForceRm,
		PullParent:     o.Pull,
		Squash:         o.Squash,
		Isolation:      o.Isolation,
		CPUSetCPUs:     o.CPUSetCPUs,
		CPUSetMems:     o.CPUSetMems,
		CPUShares:      o.CPUShares,
		CPUQuota:       o.CPUQuota,
		CPUPeriod:      o.CPUPeriod,
		Memory:         o.Memory.Value(),
		MemorySwap:     o.MemorySwap.Value(),
		CgroupParent:   o.CgroupParent,
		NetworkMode:    o.NetworkMode,
		ShmSize:        o.ShmSize.Value(),
		Dockerfile:     dockerfile,
		Ulimits:        engineUlimits(o.Ulimits.GetList()),
		BuildArgs:      cfg.ProxyBuildArgs(host, buildArgs),
		Labels:         opts.ConvertKVStringsToMap(o.Labels.GetAll()),
		CacheFrom:      o.CacheFrom,
		SecurityOpt:    o.SecurityOpt,
		ExtraHosts:     o.ExtraHosts.GetAll(),
		Target:         o.Target,
		Platform:       o.Platform,
		AuthConfigs:    authConfigs(cfg.Credentials(ctx, newLogger(o.IO.ErrOut))),
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

// finish prints the ID for -q and writes --iidfile.
func finish(o *BuildOptions, out *outputs, imageID string) error {
	if o.Quiet {
		imageID = out.buildBuf.String()
		fmt.Fprint(out.stdout, imageID)
	}
	if o.ImageIDFile == "" {
		return nil
	}
	if imageID == "" {
		return fmt.Errorf("Server did not provide an image ID. Cannot write %s", o.ImageIDFile)
	}
	return os.WriteFile(o.ImageIDFile, []byte(imageID), 0o666)
}
