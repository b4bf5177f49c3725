package build

import (
	"context"
	"io/fs"
	"time"

	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/internal/opts"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
	"github.com/mybuild/mybuild/pkg/engine"
)

// Request is one build: what to build (Input and the options of the builder
// that takes it) and what the command resolved for it (streams,
// environment, config.json, the daemon).
type Request struct {
	Input
	Classic  Classic
	BuildKit BuildKit

	IO        *iostreams.IOStreams
	Getenv    func(string) string
	LookupEnv func(string) (string, bool)
	// Debug is docker's -D.
	Debug bool
	// Config is docker's config.json, read once.
	Config *dockerconfig.Config
	// DockerContext is the docker context in use ("default" for -H,
	// DOCKER_HOST or none): BuildKit's default builder is named after it.
	DockerContext string
	// Daemon is the docker daemon the endpoint names, pinged or not yet.
	Daemon *Daemon
	// OnContextFile, when set, receives each entry of a local context as
	// the builder's walk sends or offers it, in walk order (directories
	// before their contents, names sorted), from one goroutine.
	OnContextFile func(ContextFile)
}

// ContextFile is one entry of a local context: its slash path relative
// to the context's root and what the daemon sees of it.
type ContextFile struct {
	Path    string
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
	UID     uint32
	GID     uint32
}

// Daemon is the docker daemon client and, once asked, its start-up ping,
// which the builder reuses (docker pings once).
type Daemon struct {
	Client  *engine.Client
	Pinged  bool
	Ping    engine.Ping
	PingErr error
}

// Input are the flags both builders take, each in its own command.
type Input struct {
	ContextPath    string // PATH, URL or "-"
	DockerfilePath string // -f; "" is PATH/Dockerfile
	Tags           []string
	BuildArgs      []string // KEY=value or KEY (taken from the environment)
	Labels         []string
	Target         string
	Platforms      []string
	NetworkMode    string
	ExtraHosts     []string
	CgroupParent   string
	ShmSize        int64
	Ulimits        []*opts.Ulimit
	NoCache        bool
	Pull           bool
	CacheFrom      []string
	ImageIDFile    string
	Quiet          bool
	Progress       string
}

// Classic are the options only docker's legacy builder takes.
type Classic struct {
	CPUShares   int64
	CPUPeriod   int64
	CPUQuota    int64
	CPUSetCPUs  string
	CPUSetMems  string
	Memory      int64
	MemorySwap  int64
	Isolation   string
	Rm          bool
	ForceRm     bool
	SecurityOpt []string
	Squash      bool
	// Compress is --compress; CompressSet says it was given (otherwise
	// mybuild chooses).
	Compress    bool
	CompressSet bool
	// Untrusted is --disable-content-trust.
	Untrusted bool
	// Requires are what the flags given need of the daemon, checked once
	// its API version is known.
	Requires []Requirement
}

// Requirement is what one flag given needs of the daemon: an API version
// at least APIVersion, and experimental features when Experimental.
type Requirement struct {
	Flag         string
	APIVersion   string
	Experimental bool
}

// BuildKit are the options only `docker buildx build` takes, as given:
// the BuildKit builder reads them the way buildx does (its defaults, its
// errors, in its order).
type BuildKit struct {
	Resources     []string // the hidden legacy -m, --cpu-* flags, as key=value
	NoCacheFilter []string
	Outputs       []string
	Push          bool
	Load          bool
	CacheTo       []string
	Secrets       []string
	SSH           []string
	Allow         []string
	Annotations   []string
	Attests       []string
	SBOM          string
	Provenance    string
	Call          string
	NamedContexts []string
	MetadataFile  string
	Policy        []string
	// Builder is --builder (else BUILDX_BUILDER).
	Builder string
}

// InitialPingTimeout is docker's bound on the start-up ping; a daemon that
// does not answer in time is asked again when the build is sent.
const InitialPingTimeout = 2 * time.Second

// StartupPing is the ping the builder was chosen with, else a new one,
// bounded by InitialPingTimeout.
func (d *Daemon) StartupPing(ctx context.Context) (engine.Ping, error) {
	if !d.Pinged {
		pctx, cancel := context.WithTimeout(ctx, InitialPingTimeout)
		d.Ping, d.PingErr = d.Client.Ping(pctx)
		cancel()
		d.Pinged = true
	}
	return d.Ping, d.PingErr
}
