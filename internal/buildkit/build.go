package buildkit

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/gitutil"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/moby/buildkit/util/progress/progresswriter"
	"github.com/pkg/errors"
	"google.golang.org/grpc/codes"

	"github.com/mybuild/mybuild/internal/build"
)

// Builder is the BuildKit builder: buildx's, on the builder instance
// docker's rules choose (the daemon's own, or one of buildx's store).
type Builder struct{}

// Build resolves the builder instance and builds on it. A failure is an
// *Error, which knows its exit status; once the solve has started, the
// Result so far comes with it.
func (Builder) Build(ctx context.Context, req *build.Request) (*build.Result, error) {
	tuneGC()
	inst, err := resolveInstance(req)
	if err != nil {
		return nil, &Error{Err: err}
	}
	if err := updateLastActivity(BuildxDir(req.Getenv), inst.Name, time.Now()); err != nil {
		inst.Close()
		return nil, &Error{Err: errors.Wrap(err, "failed to update builder last activity time")}
	}
	defer inst.Close()
	return buildOn(ctx, inst, &Request{
		Input:            req.Input,
		BuildKit:         req.BuildKit,
		Debug:            req.Debug,
		Stdin:            req.IO.In,
		Stdout:           req.IO.Out,
		Stderr:           req.IO.ErrOut,
		StdoutIsTerminal: req.IO.IsStdoutTTY(),
		Getenv:           req.Getenv,
		LookupEnv:        req.LookupEnv,
		Auth:             req.Config.BuildKitAuth(),
		BuildxDir:        BuildxDir(req.Getenv),
		OnContextFile:    req.OnContextFile,
		contextSeen:      &atomic.Bool{},
	})
}

// buildOn runs one build on b and reports it as `docker buildx build` does:
// progress on r.Stderr, -q's image ID, --call's result and --metadata-file
// on r.Stdout, --iidfile. A failure is an *Error.
func buildOn(ctx context.Context, b *Instance, r *Request) (*build.Result, error) {
	res := &build.Result{Started: time.Now()}
	o, err := r.parse()
	if err != nil {
		return nil, &Error{Err: err}
	}
	if r.ImageIDFile != "" {
		if err := os.Remove(r.ImageIDFile); err != nil && !os.IsNotExist(err) {
			return nil, &Error{Err: errors.Wrap(err, "removing image ID file")}
		}
	}
	if o.progressMode, err = o.displayMode(); err != nil {
		return nil, &Error{Err: err}
	}
	logs := &deferredLog{w: r.Stderr}
	defer routeLibraryLogs(logs)()
	p, err := newPrinter(r.Stderr, o.progressMode, b, r.Debug, func(p *printer) {
		logs.flush()
		printWarnings(r.Stderr, p.warnings, o.progressMode, r.Debug)
	})
	if err != nil {
		return nil, &Error{Err: err}
	}
	o.log, o.printer = logs, p
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	bound := livenessBound(r.Getenv)
	for _, n := range b.Nodes {
		n.liveness, n.fail = bound, cancel
	}
	resp, in, err := o.run(ctx, b, p)
	if in != nil {
		if in.finish != nil {
			in.finish()
		}
		defer in.release()
	}
	werr := p.wait()
	res.Steps, res.ContextBytes = p.steps.result()
	res.ContextFiles = r.contextOpened.Load()
	for _, w := range p.warnings {
		res.Warnings = append(res.Warnings, string(w.Short))
	}
	if err != nil {
		return res, &Error{Err: errors.Wrap(explainBuildError(nodeLost(ctx, b, err)), "failed to build")}
	}
	if werr != nil {
		return res, &Error{Err: werr}
	}
	if err := o.finish(resp, in, p); err != nil {
		return res, err
	}
	res.ImageID = imageID(resp.ExporterResponse)
	res.ExporterResponse = resp.ExporterResponse
	res.Finished = time.Now()
	return res, nil
}

// finish prints and writes what a successful build leaves.
func (o *options) finish(resp *client.SolveResponse, in *inputs, p *printer) error {
	if o.progressMode == progressui.QuietMode && o.Quiet && o.callFunc == nil {
		fmt.Fprintln(o.Stdout, imageID(resp.ExporterResponse))
	}
	if o.ImageIDFile != "" {
		if err := os.WriteFile(o.ImageIDFile, []byte(imageID(resp.ExporterResponse)), 0o644); err != nil {
			return &Error{Err: errors.Wrap(err, "writing image ID file")}
		}
	}
	if o.MetadataFile != "" {
		dt := metadata(resp.ExporterResponse)
		if o.callFunc == nil && len(p.warnings) > 0 {
			if b, _ := boolEnv(o.LookupEnv("BUILDX_METADATA_WARNINGS")); b {
				dt["buildx.build.warnings"] = p.warnings
			}
		}
		if err := writeMetadataFile(o.MetadataFile, dt); err != nil {
			return &Error{Err: err}
		}
	}
	if o.callFunc != nil {
		src := ""
		if in != nil {
			src = in.dockerfileSrc
		}
		code, err := printCallResult(o.Stdout, o.callFunc, resp.ExporterResponse, src)
		if err != nil {
			return &Error{Err: err}
		}
		if code != 0 {
			return &Error{quiet: true, code: code}
		}
	}
	if v, ok := resp.ExporterResponse["frontend.result.inlinemessage"]; ok {
		fmt.Fprintf(o.Stdout, "\n%s\n", v)
	}
	return nil
}

// run is buildx's RunBuild: the session's attachables, the exports, then
// the solve on the builder's node.
func (o *options) run(ctx context.Context, b *Instance, p *printer) (*client.SolveResponse, *inputs, error) {
	if o.NoCache && len(o.NoCacheFilter) > 0 {
		return nil, nil, errors.Errorf("--no-cache and --no-cache-filter cannot currently be used together")
	}
	var err error
	if o.platforms, err = parsePlatforms(o.Platforms); err != nil {
		return nil, nil, err
	}
	attachables := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: o.Auth,
	})}
	sources := make([]secretsprovider.Source, 0, len(o.secrets))
	for _, s := range o.secrets {
		sources = append(sources, secretsprovider.Source{ID: s.ID, FilePath: s.FilePath, Env: s.Env})
	}
	store, err := secretsprovider.NewStore(sources)
	if err != nil {
		return nil, nil, err
	}
	attachables = append(attachables, secretsprovider.NewSecretProvider(store))
	sshSpecs := o.ssh
	if len(sshSpecs) == 0 && isGitSSH(o.ContextPath) {
		sshSpecs = []sshSpec{{ID: "default"}}
	}
	agents := make([]sshprovider.AgentConfig, 0, len(sshSpecs))
	for _, s := range sshSpecs {
		agents = append(agents, sshprovider.AgentConfig{ID: s.ID, Paths: s.Paths})
	}
	ssh, err := sshprovider.NewSSHAgentProvider(agents)
	if err != nil {
		return nil, nil, err
	}
	attachables = append(attachables, ssh)

	exports, err := o.createExports()
	if err != nil {
		return nil, nil, err
	}
	if o.allow, o.localDelete, err = parseEntitlements(o.Allow); err != nil {
		return nil, nil, err
	}
	if err := o.checkLocalDelete(exports); err != nil {
		return nil, nil, err
	}
	if o.annotations, err = parseAnnotations(o.Annotations); err != nil {
		return nil, nil, errors.Wrap(err, "parse annotations")
	}
	for _, e := range exports {
		for k, v := range o.annotations {
			e.Attrs[k.String()] = v
		}
	}
	resp, in, err := o.solve(ctx, b, p, exports, attachables)
	return resp, in, localOutputFull(err, exports)
}

func isGitSSH(s string) bool {
	u, err := gitutil.ParseURL(s)
	return err == nil && u.Scheme == gitutil.SSHProtocol
}

// buildOpts asks a node for its capabilities with an empty internal build,
// as buildx does before it maps the options.
func buildOpts(ctx context.Context, c *client.Client) (gateway.BuildOpts, error) {
	var opt gateway.BuildOpts
	_, err := c.Build(ctx, client.SolveOpt{Internal: true}, "buildx", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		opt = c.BuildOpts()
		return nil, nil
	}, nil)
	return opt, err
}

// solve builds on the builder: on one node, or on several at once when
// the platforms asked for are spread over them.
func (o *options) solve(ctx context.Context, b *Instance, p *printer, exports []client.ExportEntry, attachables []session.Attachable) (*client.SolveResponse, *inputs, error) {
	if len(b.Nodes) == 0 {
		return nil, nil, errors.Errorf("driver required for build")
	}
	nodes, err := o.resolveNodes(ctx, b, p)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range attachables {
		if s, ok := a.(interface{ SetLogger(progresswriter.Logger) }); ok {
			s.SetLogger(func(s *client.SolveStatus) { p.write(s) })
		}
	}
	if len(nodes) > 1 {
		return o.solveNodes(ctx, b, p, nodes, exports, attachables)
	}
	n := nodes[0].n
	o.platforms = nodes[0].platforms
	bopts, err := buildOpts(ctx, n.client)
	if err != nil {
		return nil, nil, err
	}
	git, gerr := o.gitAttributes(ctx)
	if gerr != nil {
		o.log.warn("current commit information was not captured by the build", gerr)
	}
	req, err := o.toSolveOpt(ctx, b, n, bopts, cloneExports(exports), false)
	if err != nil {
		return nil, nil, err
	}
	so := req.so
	so.Ref = identity.NewID()
	if err := o.saveLocalState(b, n, so.Ref); err != nil {
		req.close()
		return nil, nil, err
	}
	// After what the inputs attached (stdin's upload provider).
	so.Session = append(so.Session, attachables...)
	git.apply(so.FrontendAttrs, req.inputs.mountDirs)
	endPolicy, err := o.setPolicies(ctx, n.client, bopts, req.inputs.policy, &so, p)
	if err != nil {
		req.close()
		return nil, nil, err
	}
	o.warnNoOutput(b, n, &so)
	resp, err := o.solveOn(ctx, b, n, n.client, &so, p)
	// Ended with the build, after its results, as buildx ends them.
	req.inputs.finish = func() { endPolicy(err) }
	in := req.inputs
	req.inputs = nil // released by buildOn, after the display
	req.close()
	return resp, in, err
}

// solveOn runs the frontend through the gateway, as buildx does, and
// completes the exporter response.
func (o *options) solveOn(ctx context.Context, b *Instance, n *Node, c *client.Client, so *client.SolveOpt, p *printer) (*client.SolveResponse, error) {
	greq := gateway.SolveRequest{Frontend: so.Frontend, FrontendOpt: maps.Clone(so.FrontendAttrs)}
	so.Frontend = ""
	var callRes map[string][]byte
	buildFunc := func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		if o.callFunc != nil {
			if v, ok := greq.FrontendOpt["frontend.caps"]; ok {
				greq.FrontendOpt["frontend.caps"] = v + ",moby.buildkit.frontend.subrequests+forward"
			} else {
				greq.FrontendOpt["frontend.caps"] = "moby.buildkit.frontend.subrequests+forward"
			}
			greq.FrontendOpt["requestid"] = "frontend." + o.callFunc.Name
		}
		res, err := solveWithFallback(ctx, c, greq)
		if err != nil {
			return nil, err
		}
		if o.callFunc != nil {
			callRes = res.Metadata
		}
		return res, nil
	}
	if n.sessions != nil && so.SharedSession == nil {
		s, release, err := n.sessions.newSession(ctx, so.SharedKey)
		if err != nil {
			return nil, errors.Wrap(err, "failed to create session")
		}
		defer release()
		so.SharedSession = s
		defer func() { so.SharedSession = nil }()
	}
	ch, done := p.channel()
	resp, err := c.Build(ctx, *so, "buildx", buildFunc, ch)
	<-done
	if err != nil {
		return nil, err
	}
	if resp.ExporterResponse == nil {
		resp.ExporterResponse = map[string]string{}
	}
	for k, v := range callRes {
		resp.ExporterResponse[k] = string(v)
	}
	if o.callFunc == nil {
		resp.ExporterResponse["buildx.build.ref"] = fmt.Sprintf("%s/%s/%s", b.Name, n.Name, so.Ref)
		if o.MetadataFile != "" && n.historyAPI(ctx, c) {
			if err := o.recordProvenance(ctx, c, resp, so.Ref, p); err != nil {
				return nil, err
			}
		}
	}
	if n.Moby {
		if err := o.pushWithDaemon(ctx, n, so, resp, p); err != nil {
			return nil, err
		}
	}
	for _, e := range so.Exports {
		if e.Attrs["prefer-image-digest"] == "true" {
			delete(resp.ExporterResponse, exptypes.ExporterImageConfigDigestKey)
			break
		}
	}
	return resp, nil
}

// printFallbackImages are the Dockerfile frontends buildx retries a --call
// with when the daemon's own frontend does not know the request.
const (
	printFallbackImage     = "docker/dockerfile:1.7.1@sha256:a57df69d0ea827fb7266491f2813635de6f17269be881f696fbfdf2d83dda33e"
	printLintFallbackImage = "docker/dockerfile:1.8.1@sha256:e87caa74dcb7d46cd820352bfea12591f3dba3ddc4285e19c7dcd13359f7cefd"
)

func solveWithFallback(ctx context.Context, c gateway.Client, req gateway.SolveRequest) (*gateway.Result, error) {
	res, err := c.Solve(ctx, req)
	if err == nil {
		return res, nil
	}
	req2, ok := fallbackRequest(err, req)
	if !ok {
		return nil, err
	}
	res2, err2 := c.Solve(ctx, req2)
	if err2 != nil {
		return nil, err
	}
	return res2, nil
}

func fallbackRequest(err error, req gateway.SolveRequest) (gateway.SolveRequest, bool) {
	if _, ok := req.FrontendOpt["requestid"]; !ok {
		return req, false
	}
	fallback, lint := false, false
	var reqErr *errdefs.UnsupportedSubrequestError
	if errors.As(err, &reqErr) {
		switch reqErr.Name {
		case "frontend.lint":
			lint = true
			fallback = true
		case "frontend.outline", "frontend.targets":
			fallback = true
		default:
			return req, false
		}
	}
	// BuildKit v0.8 (Engine 20.10) has no typed errors.
	for _, name := range []string{"frontend.outline", "frontend.targets", "frontend.lint"} {
		if strings.Contains(err.Error(), "unsupported request "+name) {
			fallback = true
		}
		if name == "frontend.lint" {
			lint = true
		}
	}
	if !fallback {
		return req, false
	}
	req.FrontendOpt = maps.Clone(req.FrontendOpt)
	req.FrontendOpt["build-arg:BUILDKIT_SYNTAX"] = printFallbackImage
	if lint {
		req.FrontendOpt["build-arg:BUILDKIT_SYNTAX"] = printLintFallbackImage
	}
	return req, true
}

// warnNoOutput: a builder that is not the daemon's keeps a build without
// -o, --push or --load only in its cache; buildx says so.
func (o *options) warnNoOutput(b *Instance, n *Node, so *client.SolveOpt) {
	if o.noDefaultLoad() || o.callFunc != nil || n.Moby || len(o.exports) > 0 || o.Push || o.Load {
		return
	}
	if len(so.Exports) > 0 || so.EnableSessionExporter {
		return
	}
	o.log.warn(fmt.Sprintf("No output specified with %s driver. Build result will only remain in the build cache. To push result image into registry use --push or to load image into docker use --load", b.Driver), nil)
}

func cloneExports(in []client.ExportEntry) []client.ExportEntry {
	out := make([]client.ExportEntry, len(in))
	for i, e := range in {
		e.Attrs = maps.Clone(e.Attrs)
		out[i] = e
	}
	return out
}

// deferredLog holds buildx's logrus warnings while the progress display
// runs, and prints them ("WARNING: …") once it has ended.
type deferredLog struct {
	mu      sync.Mutex
	w       interface{ Write([]byte) (int, error) }
	buf     []string
	flushed bool
}

func (l *deferredLog) warn(msg string, err error) {
	line := "WARNING: " + msg
	if err != nil {
		line += ": " + err.Error()
	}
	l.line(line + "\n")
}

// line prints s now, or once the display has ended.
func (l *deferredLog) line(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.flushed {
		fmt.Fprint(l.w, line)
		return
	}
	l.buf = append(l.buf, line)
}

func (l *deferredLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.buf {
		fmt.Fprint(l.w, s)
	}
	l.buf, l.flushed = nil, true
}

// explainBuildError replaces a daemon's "unsupported frontend capability"
// with buildx's advice.
func explainBuildError(err error) error {
	st, ok := grpcerrors.AsGRPCStatus(err)
	if !ok || st.Code() != codes.Unimplemented {
		return err
	}
	switch {
	case strings.Contains(st.Message(), "unsupported frontend capability moby.buildkit.frontend.contexts"):
		return &explained{err, "current frontend does not support --build-context. Named contexts are supported since Dockerfile v1.4. Use #syntax directive in Dockerfile or update to latest BuildKit."}
	case strings.Contains(st.Message(), "unsupported frontend capability moby.buildkit.frontend.gitquerystring"):
		return &explained{err, "current frontend does not support Git URLs with query string components. Git URLs with query string are supported since Dockerfile v1.18 and BuildKit v0.24. Use BUILDKIT_SYNTAX build-arg, #syntax directive in Dockerfile or update to latest BuildKit."}
	}
	return err
}

type explained struct {
	err error
	msg string
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }
