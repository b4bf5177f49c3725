package buildkit

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"github.com/moby/buildkit/client"

	"github.com/mybuild/mybuild/pkg/engine"
)

// dockerInstance is the docker daemon's own builder, named after the docker
// context as buildx's docker driver names it.
func dockerInstance(name string, c *engine.Client, proxies map[string]string) *Instance {
	node := DockerNode(c, c)
	node.Name = name
	node.ProxyArgs = proxies
	return &Instance{Name: name, Driver: "docker", Nodes: []*Node{node}}
}

// Hijacker takes over a daemon connection for another protocol (docker's
// DialHijack), and dials the daemon's socket directly.
type Hijacker interface {
	Hijack(ctx context.Context, path, proto string, meta map[string][]string) (net.Conn, error)
	Dial(ctx context.Context) (net.Conn, error)
}

// DockerNode is the docker daemon's own BuildKit, as buildx's docker
// driver reaches it: the Control API over POST /grpc, sessions over POST
// /session, both upgraded to h2c. A daemon without /grpc (API 1.53 dropped
// it from the documentation, a later one may remove it) serves gRPC on its
// socket itself; sessions then go through Control.Session.
func DockerNode(h Hijacker, d Daemon) *Node {
	sessions := &sessionServers{}
	n := &Node{
		Name:     "default",
		Moby:     true,
		Daemon:   d,
		sessions: sessions,
	}
	if hh, ok := h.(interface{ Host() string }); ok {
		n.Endpoint = hh.Host()
	}
	n.Dial = func(ctx context.Context) (*client.Client, error) {
		conn, err := h.Hijack(ctx, "/grpc", "h2c", nil)
		if isNotFound(err) {
			return client.New(ctx, "", append(n.keepaliveOpts(), client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				return h.Dial(ctx)
			}))...)
		}
		if err != nil {
			return nil, err
		}
		var used atomic.Bool
		return client.New(ctx, "", append(n.keepaliveOpts(),
			client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				if used.CompareAndSwap(false, true) { // the probe's connection serves the first dial
					return conn, nil
				}
				return h.Hijack(ctx, "/grpc", "h2c", nil)
			}),
			client.WithSessionDialer(sessions.dialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
				return h.Hijack(ctx, "/session", proto, meta)
			})))...)
	}
	return n
}

// isNotFound reports an HTTP 404 from the daemon.
func isNotFound(err error) bool {
	var sc interface{ HTTPStatus() int }
	return errors.As(err, &sc) && sc.HTTPStatus() == 404
}
