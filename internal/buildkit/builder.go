package buildkit

import (
	"context"
	"io"
	"net"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// Instance is where builds run: buildx's builder instance, one or more
// BuildKit nodes behind one driver.
type Instance struct {
	Name   string // "default" for the docker daemon's own builder
	Driver string // "docker", "remote", …
	Nodes  []*Node
}

// Node is one BuildKit endpoint.
type Node struct {
	Name     string
	Endpoint string
	// Platforms are the ones the builder's configuration declares for it.
	Platforms []ocispecs.Platform
	// Moby says BuildKit runs inside dockerd (the docker driver): the image
	// is exported into the daemon itself, local images are preferred.
	Moby bool
	// Dial connects a new BuildKit client.
	Dial func(ctx context.Context) (*client.Client, error)
	// Daemon is the docker daemon the node loads images into, if any.
	Daemon Daemon
	// DefaultLoad loads the image into Daemon when no output is given
	// (the remote driver's default-load option).
	DefaultLoad bool
	// waitReady: the node may still be starting; wait for it (bounded),
	// and diagnose says why it cannot be reached when it never answers.
	waitReady bool
	diagnose  func(ctx context.Context) error
	// ProxyArgs are config.json's proxies for the node's daemon, sent as
	// build arguments the user did not set.
	ProxyArgs map[string]string
	// sessions, when the node dials its sessions itself, serves them.
	sessions *sessionServers
	// liveness bounds the node's silence (liveness.go); fail ends the
	// build it serves when the bound is passed, unwatch stops the watch.
	liveness time.Duration
	fail     context.CancelCauseFunc
	unwatch  func()

	once        sync.Once
	learnOnce   sync.Once
	learnErr    error
	historyOnce sync.Once
	history     bool
	client      *client.Client
	err         error
	features    map[feature]bool
	workers     []*client.WorkerInfo
}

// Daemon is what a build needs of a docker daemon beside BuildKit: whether
// its image store is containerd's (it then imports OCI archives), and
// loading an image archive into it.
type Daemon interface {
	ContainerdStore(ctx context.Context) (bool, error)
	LoadImage(ctx context.Context, archive io.Reader) (io.ReadCloser, error)
	// For images the daemon pushes itself (its BuildKit cannot).
	PushImage(ctx context.Context, name, registryAuth string) (io.ReadCloser, error)
	RepoDigests(ctx context.Context, name string) ([]string, error)
	DistributionDigest(ctx context.Context, name, registryAuth string) (string, error)
}

// feature is a driver capability, named as buildx names it in errors.
type feature string

const (
	ociExporter       feature = "OCI exporter"
	dockerExporter    feature = "Docker exporter"
	cacheExport       feature = "Cache export"
	multiPlatform     feature = "Multi-platform build"
	directPush        feature = "Direct push"
	preferImageDigest feature = "Prefer image digest"
)

// dial connects the node's client once.
func (n *Node) dial(ctx context.Context) (*client.Client, error) {
	n.once.Do(func() {
		n.client, n.err = n.Dial(ctx)
	})
	return n.client, n.err
}

// learn asks the node for its workers once: their platforms and, for the
// docker driver, which image store it has.
func (n *Node) learn(ctx context.Context, c *client.Client) error {
	n.learnOnce.Do(func() {
		w, err := c.ListWorkers(ctx)
		if err != nil {
			n.learnErr = errors.Wrap(err, "listing workers")
			return
		}
		n.workers = w
		n.features = driverFeatures(n.Moby, w)
		// Watched once it has answered: a node that never did is
		// waitConnection's to report.
		n.watch(c)
	})
	return n.learnErr
}

// driverFeatures: the docker driver has the containerd-store features
// only when a worker uses containerd's snapshotter; other drivers have all.
func driverFeatures(moby bool, workers []*client.WorkerInfo) map[feature]bool {
	all := []feature{ociExporter, dockerExporter, cacheExport, multiPlatform, directPush, preferImageDigest}
	f := map[feature]bool{}
	if !moby {
		for _, x := range all {
			f[x] = true
		}
		f[preferImageDigest] = false
		return f
	}
	containerd := false
	for _, w := range workers {
		if _, ok := w.Labels["org.mobyproject.buildkit.worker.snapshotter"]; ok {
			containerd = true
		}
	}
	for _, x := range all {
		f[x] = containerd
	}
	return f
}

// hostGatewayIP is the daemon's host-gateway address, from its worker labels.
func (n *Node) hostGatewayIP() (net.IP, error) {
	for _, w := range n.workers {
		if v, ok := w.Labels["org.mobyproject.buildkit.worker.moby.host-gateway-ip"]; ok && v != "" {
			ip := net.ParseIP(v)
			if ip == nil {
				return nil, errors.Errorf("failed to parse host-gateway IP: %s", v)
			}
			return ip, nil
		}
	}
	return nil, errors.New("host-gateway IP not found")
}

// Close closes the nodes' clients.
func (b *Instance) Close() {
	for _, n := range b.Nodes {
		n.Close()
	}
}

// Close closes the node's client, if it was dialled.
func (n *Node) Close() {
	if n.unwatch != nil {
		n.unwatch()
	}
	if n.client != nil {
		n.client.Close()
	}
}
