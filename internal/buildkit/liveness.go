package buildkit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/pkg/errors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
)

// defaultLiveness is how long a node may leave its connection silent
// before the build fails: MYBUILD_TIMEOUT's default for the classic path.
const defaultLiveness = 30 * time.Second

// livenessBound reads MYBUILD_TIMEOUT (a Go duration or seconds; 0 waits
// forever, as buildx does). A value the classic path would refuse is
// refused there; here it leaves the default.
func livenessBound(getenv func(string) string) time.Duration {
	v := ""
	if getenv != nil {
		v = getenv("MYBUILD_TIMEOUT")
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d
	}
	return defaultLiveness
}

// keepaliveOpts ping the node when nothing was read from it for half the
// bound, and close the connection when a ping is not answered within the
// other half: a frozen node or a stalled connection fails the streams
// instead of leaving them waiting forever. (gRPC pings at most every 10 s.)
func (n *Node) keepaliveOpts() []client.ClientOpt {
	if n.liveness <= 0 {
		return nil
	}
	return []client.ClientOpt{client.WithGRPCDialOption(grpc.WithKeepaliveParams(keepalive.ClientParameters{
		Time: n.liveness / 2, Timeout: n.liveness / 2,
	}))}
}

// watch asks the node for its workers every third of the bound while the
// client is open, and fails the build (n.fail) when it does not answer in
// time: gRPC keeps pings at least 10 s apart, so the watch holds a shorter
// bound. Its answers count as the server's writes, which keeps the server's
// ping policy (at most one ping per 5 minutes while it sends nothing) out
// of the way of a long silent RUN.
func (n *Node) watch(c *client.Client) {
	if n.liveness <= 0 {
		return
	}
	stop := make(chan struct{})
	n.unwatch = sync.OnceFunc(func() { close(stop) })
	go func() {
		t := time.NewTicker(n.liveness / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), n.liveness)
			_, err := c.ListWorkers(ctx)
			cancel()
			select {
			case <-stop:
				return
			default:
			}
			if err != nil && n.fail != nil {
				lost := errors.Errorf("it did not answer within %s (MYBUILD_TIMEOUT)", n.liveness)
				if !errors.Is(err, context.DeadlineExceeded) && grpcerrors.Code(err) != codes.DeadlineExceeded {
					lost = errors.Wrap(err, "it went away")
				}
				n.fail(&nodeLostError{n: n, err: lost})
				return
			}
		}
	}()
}

// nodeLostError is a build that failed because its node stopped answering
// or went away: it names the node and where it was reached.
type nodeLostError struct {
	n   *Node
	err error
}

func (e *nodeLostError) Error() string {
	if e.n.Endpoint == "" {
		return fmt.Sprintf("builder node %s: %v", e.n.Name, e.err)
	}
	return fmt.Sprintf("builder node %s at %s: %v", e.n.Name, e.n.Endpoint, e.err)
}

func (e *nodeLostError) Unwrap() error { return e.err }

// nodeLost explains a failed build whose node was lost: the watch's cause
// when it cancelled the build, else a connection that broke (gRPC's
// Unavailable) named after the node, when one node was dialled.
func nodeLost(ctx context.Context, b *Instance, err error) error {
	var lost *nodeLostError
	if cause := context.Cause(ctx); errors.As(cause, &lost) {
		return lost
	}
	if errors.As(err, &lost) || grpcerrors.Code(err) != codes.Unavailable {
		return err
	}
	var dialled []*Node
	for _, n := range b.Nodes {
		if n.client != nil {
			dialled = append(dialled, n)
		}
	}
	if len(dialled) != 1 {
		return err
	}
	return &nodeLostError{n: dialled[0], err: err}
}
