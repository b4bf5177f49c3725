package buildkit

import (
	"io"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/docker/buildx/util/buildflags"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session/auth/authprovider"
	sourcepolicy "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"

	"github.com/mybuild/mybuild/internal/build"
)

// Request is one build as the BuildKit builder runs it: the command's
// flag values (build.Input, build.BuildKit), read by build the way buildx
// reads them (same defaults, same errors), and what it runs with.
type Request struct {
	build.Input
	build.BuildKit
	Debug bool // docker's -D: expands warnings
	// OnContextFile, when set, receives the local context's entries (see
	// build.Request); contextSeen says one walk of it was observed.
	OnContextFile func(build.ContextFile)
	contextSeen   *atomic.Bool
	// contextOpened counts the context's files the daemons asked for.
	contextOpened atomic.Int64

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// StdoutIsTerminal refuses a tar on stdout ("-o -") as buildx does.
	StdoutIsTerminal bool
	// Getenv and LookupEnv read the environment (BUILDKIT_PROGRESS,
	// SOURCE_DATE_EPOCH, BUILDX_* …).
	Getenv    func(string) string
	LookupEnv func(string) (string, bool)
	// Auth answers the daemon's credential requests (config.json).
	Auth authprovider.AuthConfigProvider
	// BuildxDir is buildx's state directory ($BUILDX_CONFIG, else
	// $DOCKER_CONFIG/buildx): it holds the node ID that keys the context
	// transfer cache.
	BuildxDir string
	// Tempdir is where a Dockerfile from stdin is written ("" is the
	// system's).
	Tempdir string
}

// options is a Request read and checked.
type options struct {
	*Request
	buildArgs     map[string]string
	labels        map[string]string
	platforms     []ocispecs.Platform
	exports       []exportEntry
	cacheFrom     []cacheEntry
	cacheTo       []cacheEntry
	secrets       []secretSpec
	ssh           []sshSpec
	attests       map[string]*string
	policy        []buildflags.PolicyConfig
	sourcePolicy  *sourcepolicy.Policy
	callFunc      *callFunc
	namedContexts map[string]string
	allow         []string
	localDelete   bool
	annotations   map[exptypes.AnnotationKey]string
	progressMode  progressui.DisplayMode
	nodeIDValue   *string
	log           *deferredLog
	printer       *printer
}

// parse reads the flag values that buildx reads before it loads the
// builder (its buildOptions.toOptions), in its order.
func (r *Request) parse() (*options, error) {
	o := &options{Request: r}
	var err error
	if o.buildArgs, err = keyValues(r.BuildArgs, r.LookupEnv); err != nil {
		return nil, err
	}
	if o.labels, err = keyValues(r.Labels, nil); err != nil {
		return nil, err
	}
	if _, ok := o.buildArgs["SOURCE_DATE_EPOCH"]; !ok {
		if v := r.Getenv("SOURCE_DATE_EPOCH"); v != "" {
			o.buildArgs["SOURCE_DATE_EPOCH"] = v
		}
	}
	if o.sourcePolicy, err = readSourcePolicy(r.Getenv("EXPERIMENTAL_BUILDKIT_SOURCE_POLICY")); err != nil {
		return nil, err
	}
	if o.policy, err = buildflags.ParsePolicyConfigs(r.Policy); err != nil {
		return nil, err
	}
	attests := slices.Clone(r.Attests)
	if r.Provenance != "" {
		attests = append(attests, canonicalAttest("provenance", r.Provenance))
	}
	if r.SBOM != "" {
		attests = append(attests, canonicalAttest("sbom", r.SBOM))
	}
	parsed, err := parseAttests(attests)
	if err != nil {
		return nil, err
	}
	o.attests = attestMap(parsed)
	if o.namedContexts, err = parseNamedContexts(r.NamedContexts); err != nil {
		return nil, err
	}
	if o.exports, err = parseExports(r.Outputs); err != nil {
		return nil, err
	}
	for _, e := range o.exports {
		if (e.Type == "local" || e.Type == "tar") && r.ImageIDFile != "" {
			return nil, errors.Errorf("local and tar exporters are incompatible with image ID file")
		}
	}
	if o.cacheFrom, err = parseCacheEntries(r.CacheFrom); err != nil {
		return nil, err
	}
	if o.cacheTo, err = parseCacheEntries(r.CacheTo); err != nil {
		return nil, err
	}
	if o.secrets, err = parseSecrets(r.Secrets); err != nil {
		return nil, err
	}
	o.ssh = parseSSH(r.SSH)
	if o.callFunc, err = parseCallFunc(r.Call); err != nil {
		return nil, err
	}
	return o, nil
}

// displayMode is the progress mode: --progress, -q, then
// BUILDKIT_PROGRESS in place of "auto" (checked when the display starts).
func (o *options) displayMode() (progressui.DisplayMode, error) {
	mode := o.Progress
	if mode == "quiet" {
		o.Quiet = true
	}
	if mode == "none" { // buildx's "quiet" still prints the image ID
		mode = "quiet"
	}
	if o.Quiet {
		if mode != string(progressui.AutoMode) && mode != string(progressui.QuietMode) {
			return "", errors.Errorf("progress=%s and quiet cannot be used together", o.Progress)
		}
		return progressui.QuietMode, nil
	}
	if v := o.Getenv("BUILDKIT_PROGRESS"); v != "" && mode == string(progressui.AutoMode) {
		mode = v
	}
	return progressui.DisplayMode(mode), nil
}

// boolEnv reads a boolean environment variable (LookupEnv's answer); ok
// is false when it is unset or not a boolean.
func boolEnv(s string, set bool) (v, ok bool) {
	if !set {
		return false, false
	}
	b, err := strconv.ParseBool(s)
	return b, err == nil
}
