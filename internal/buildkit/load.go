package buildkit

import (
	"context"
	"strconv"

	"github.com/moby/buildkit/client"
	"github.com/pkg/errors"
)

// prepareLoad sets up a docker exporter without a destination (--load):
// the docker driver builds straight into its daemon (the moby exporter);
// another driver streams the image into the daemon (see Daemon).
func (o *options) prepareLoad(ctx context.Context, b *Builder, n *Node, e *client.ExportEntry, attests bool) error {
	containerd := false
	if n.Daemon != nil {
		ok, err := n.Daemon.ContainerdStore(ctx)
		if err != nil {
			return errors.Wrap(err, "failed to detect docker features")
		}
		containerd = ok
	}
	if containerd {
		// The containerd store imports OCI archives, manifest lists included.
		e.Type = "oci"
	} else if len(o.platforms) > 1 || attests {
		return errors.Errorf("docker exporter does not currently support exporting manifest lists")
	}
	if n.Moby {
		e.Type = "image"
		return nil
	}
	return errors.Errorf("loading into docker from the %s driver is not supported yet", b.Driver)
}

// pushWithDaemon pushes a docker-driver image through the daemon when its
// BuildKit cannot push by itself (a daemon without the containerd store).
func (o *options) pushWithDaemon(ctx context.Context, n *Node, so *client.SolveOpt, resp *client.SolveResponse, p *printer) error {
	if n.features[directPush] {
		return nil
	}
	for _, e := range so.Exports {
		if e.Type != "moby" {
			continue
		}
		if ok, _ := strconv.ParseBool(e.Attrs["push"]); !ok {
			continue
		}
		if e.Attrs["name"] == "" {
			return errors.Errorf("tag is needed when pushing to registry")
		}
		return errors.Errorf("pushing through a docker daemon without the containerd image store is not supported yet")
	}
	return nil
}
