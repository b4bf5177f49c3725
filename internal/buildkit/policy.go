package buildkit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/policy"
	"github.com/docker/buildx/util/buildflags"
	"github.com/docker/buildx/util/confutil"
	"github.com/docker/buildx/util/sourcemeta"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	sourcepolicy "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/moby/buildkit/sourcepolicy/policysession"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
)

// Source policies are buildx's: its policy package evaluates the Rego
// files, BuildKit asks for a decision on each source through the session.
// What is here is the wiring buildx's build package does around it: which
// files, from where, with which options, and the progress they show.

// policyFile is one policy file to load: data already read (a local
// Dockerfile.rego), or a name in the context's or the current directory.
type policyFile struct {
	name     string
	optional bool
	data     []byte
}

// policySet is one policy: its files, where relative names are found, and
// how it is evaluated.
type policySet struct {
	files []policyFile
	// contextDir (a local context) or contextState (a remote one) is where
	// a relative file name is looked for; "cwd://name" is in the current
	// directory.
	contextDir   string
	contextState *llb.State
	strict       bool
	logLevel     *logrus.Level
	skipCaps     bool
}

// defaultPolicy is the Dockerfile's own policy, looked for as buildx does
// with every build: <Dockerfile>.rego beside a local Dockerfile (read
// now), or in a remote context (read through the builder when the build
// starts, and optional).
func defaultPolicy(contextDir string, contextState *llb.State, dockerfileDir, dockerfileName string) (policySet, error) {
	set := policySet{contextDir: contextDir, contextState: contextState}
	f := policyFile{name: dockerfileName + ".rego", optional: true}
	if dockerfileDir != "" {
		f.name = filepath.Join(dockerfileDir, f.name)
		if contextState == nil {
			dt, err := os.ReadFile(f.name)
			if errors.Is(err, os.ErrNotExist) {
				return set, nil
			}
			if err != nil {
				return set, errors.Wrapf(err, "failed to read policy file %s", f.name)
			}
			f.data = dt
		}
	}
	set.files = []policyFile{f}
	return set, nil
}

// remoteContextState is the remote context as an LLB state, for the
// default policy file in it: a git repository, or an http(s) file (an
// archive unpacked).
func remoteContextState(contextPath string, so *client.SolveOpt) *llb.State {
	if st, ok := so.FrontendInputs["context"]; ok {
		return &st
	}
	keepGitDir := false
	advice, _ := strconv.ParseBool(so.FrontendAttrs["build-arg:BUILDKIT_GIT_ADVICE"])
	if st, ok, _ := dockerui.DetectGitContext(contextPath, &keepGitDir, llb.GitAdvice(advice)); ok {
		return st
	}
	st, filename, ok := dockerui.DetectHTTPContext(contextPath)
	if !ok || filename == "" {
		return nil
	}
	bc := llb.Scratch().File(llb.Copy(*st, filename, "/", &llb.CopyInfo{AttemptUnpack: true}))
	return &bc
}

// policySets applies the --policy flags to the default policy, in their
// order: reset drops what came before, a flag without files sets strict
// and log-level of the policy before it (or of the next one), disabled
// stands alone.
func policySets(def policySet, configs []buildflags.PolicyConfig) ([]policySet, error) {
	if len(configs) == 0 {
		if len(def.files) == 0 {
			return nil, nil
		}
		return []policySet{def}, nil
	}
	for _, cfg := range configs {
		if !cfg.Disabled {
			continue
		}
		if cfg.Reset || cfg.Strict != nil || cfg.LogLevel != nil || len(cfg.Files) > 0 || len(configs) > 1 {
			return nil, errors.New("disabled policy cannot be combined with other policy flags")
		}
		return nil, nil
	}
	var out []policySet
	if len(def.files) != 0 {
		out = append(out, def)
	}
	var pending buildflags.PolicyConfig
	for _, cfg := range configs {
		if cfg.Reset {
			out = nil
		}
		if len(cfg.Files) == 0 {
			if len(out) == 0 {
				pending = cfg
				continue
			}
			last := &out[len(out)-1]
			if cfg.Strict != nil {
				last.strict = *cfg.Strict
			}
			if cfg.LogLevel != nil {
				last.logLevel = cfg.LogLevel
			}
			continue
		}
		set := policySet{contextDir: def.contextDir, contextState: def.contextState}
		for _, f := range cfg.Files {
			set.files = append(set.files, policyFile{name: f.Filename})
		}
		for _, c := range []buildflags.PolicyConfig{pending, cfg} {
			if c.Strict != nil {
				set.strict = *c.Strict
			}
			if c.LogLevel != nil {
				set.logLevel = c.LogLevel
			}
		}
		out = append(out, set)
	}
	return out, nil
}

// policyEnv is what a policy knows of the build.
func (o *options) policyEnv() policy.Env {
	env := policy.Env{Target: o.Target, Labels: o.labels}
	for k, v := range o.buildArgs {
		if env.Args == nil {
			env.Args = map[string]*string{}
		}
		env.Args[k] = &v
	}
	env.Filename = "Dockerfile"
	if base := filepath.Base(filepath.Clean(o.DockerfilePath)); base != "." && base != string(filepath.Separator) {
		env.Filename = base
	}
	return env
}

// setPolicies loads the build's policies and sets so's policy provider,
// as buildx's configureSourcePolicy: so.Session must hold the session's
// attachables (the registry auth the policy's image lookups need). The
// returned release, called with the build's error, ends the policies'
// progress and their resolver.
func (o *options) setPolicies(ctx context.Context, c *client.Client, bopts gateway.BuildOpts, def policySet, so *client.SolveOpt, p *printer) (release func(error), err error) {
	release = func(error) {}
	sets, err := policySets(def, o.policy)
	if err != nil {
		return release, err
	}
	if defaultPolicyEnabled(o.LookupEnv) && !policyDisabled(o.policy) {
		builtin := policySet{files: []policyFile{{name: policy.DefaultPolicyFilename, data: policy.DefaultPolicyData()}}, skipCaps: true}
		sets = append([]policySet{builtin}, sets...)
	}
	if len(sets) == 0 {
		return release, nil
	}
	pw := progressWriter{p}
	resolver := sourcemeta.NewResolver(c, sourcemeta.WithProgressWriter(pw), sourcemeta.WithSession(so.Session))
	defer func() {
		if err != nil {
			_ = resolver.Close()
		}
	}()
	loaded, err := loadPolicies(ctx, sets, resolver)
	if err != nil {
		return release, err
	}
	if len(loaded) == 0 {
		// Open until the build ends, as buildx keeps it: a remote context
		// read for its policy file is still held when the build reads it.
		return func(error) { _ = resolver.Close() }, nil
	}
	var names []string
	for _, l := range loaded {
		for _, f := range l.files {
			if f.Filename != "" {
				names = append(names, f.Filename)
			}
		}
	}
	logger := newPolicyLogger(p, "loading policies "+strings.Join(names, ", "))
	var (
		policies []*policy.Policy
		checks   []policysession.PolicyCallback
	)
	verifier := policy.SignatureVerifier(confutil.NewConfig(nil, confutil.WithDir(o.BuildxDir)))
	env := o.policyEnv()
	for _, l := range loaded {
		// buildx logs at debug level under docker's -D.
		level := logrus.InfoLevel
		if o.Debug {
			level = logrus.DebugLevel
		}
		if l.set.logLevel != nil {
			level = *l.set.logLevel
		}
		pol := policy.NewPolicy(policy.Opt{
			Files: l.files,
			Env:   env,
			Log: func(lvl logrus.Level, msg string) {
				if lvl <= level {
					logger.log(msg)
				}
			},
			FS:               l.fs,
			VerifierProvider: verifier,
			DefaultPlatform:  workerPlatform(bopts),
			SourceResolver:   resolver,
		})
		if !l.set.skipCaps {
			if err := policyCaps(ctx, pol, bopts, so); err != nil {
				logger.close(nil)
				return release, err
			}
		}
		if l.set.strict && bopts.LLBCaps.Supports(pb.CapSourcePolicySession) != nil {
			logger.close(nil)
			return release, errors.New("strict policy is not supported by the current BuildKit daemon, please upgrade to version v0.27+")
		}
		policies = append(policies, pol)
		checks = append(checks, pol.CheckPolicy)
	}
	if so.ProxyNetwork {
		logger.log("policy enabled network proxy")
	}
	so.SourcePolicyProvider = policysession.NewPolicyProvider(policy.MultiPolicyCallback(checks...))
	return func(buildErr error) {
		denied := len(policysession.DenyMessages(buildErr)) > 0
		for _, pol := range policies {
			denied = denied || pol.IsPolicyError(buildErr)
		}
		if !denied {
			buildErr = nil // the step ends with the build's error only when a policy denied
		}
		logger.close(buildErr)
		_ = resolver.Close()
	}, nil
}

// policyCaps turns on the network proxy a policy asks for.
func policyCaps(ctx context.Context, pol *policy.Policy, bopts gateway.BuildOpts, so *client.SolveOpt) error {
	caps, err := pol.CheckCaps(ctx)
	if err != nil {
		return errors.Wrap(err, "failed to evaluate policy caps")
	}
	if !caps[policy.CapExecProxy] {
		return nil
	}
	if bopts.LLBCaps.Supports(pb.CapExecMetaNetworkProxy) != nil {
		return errors.New("network proxy requested by policy is not supported by the current BuildKit daemon, please upgrade to version v0.31+")
	}
	so.ProxyNetwork = true
	return nil
}

// defaultPolicyEnabled: BUILDX_DEFAULT_POLICY turns on buildx's builtin
// policy (the trust of Docker's own images), off by default.
func defaultPolicyEnabled(lookupEnv func(string) (string, bool)) bool {
	v, ok := boolEnv(lookupEnv("BUILDX_DEFAULT_POLICY"))
	return ok && v
}

// policyDisabled: --policy disabled=true, which also turns off the builtin
// policy.
func policyDisabled(configs []buildflags.PolicyConfig) bool {
	for _, c := range configs {
		if c.Disabled {
			return true
		}
	}
	return false
}

func workerPlatform(bopts gateway.BuildOpts) *ocispecs.Platform {
	if len(bopts.Workers) == 0 || len(bopts.Workers[0].Platforms) == 0 {
		return nil
	}
	p := platforms.Normalize(bopts.Workers[0].Platforms[0])
	return &p
}

// progressWriter shows the policy resolver's steps with the build's: a
// buildx progress.Writer, whose channels name themselves as log sources.
type progressWriter struct{ p *printer }

func (w progressWriter) Write(s *client.SolveStatus)  { w.p.write(s) }
func (w progressWriter) WriteBuildRef(string, string) {}
func (w progressWriter) ClearLogSource(src any)       { w.p.releaseLogs(src) }

func (w progressWriter) ValidateLogSource(d digest.Digest, src any) bool {
	return w.p.mayLog(d, src)
}

// readSourcePolicy reads EXPERIMENTAL_BUILDKIT_SOURCE_POLICY's file, as
// buildx: BuildKit's source policy as JSON, or as protobuf.
func readSourcePolicy(name string) (*sourcepolicy.Policy, error) {
	if name == "" {
		return nil, nil
	}
	dt, err := os.ReadFile(name)
	if err != nil {
		return nil, errors.Wrap(err, "failed to read policy file")
	}
	var pol sourcepolicy.Policy
	if err := json.Unmarshal(dt, &pol); err != nil {
		if proto.Unmarshal(dt, &pol) != nil {
			return nil, errors.Wrap(err, "failed to parse source policy")
		}
	}
	return &pol, nil
}
