package cli

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/mybuild/mybuild/internal/buildkit"
	"github.com/mybuild/mybuild/pkg/buildxstore"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
	"github.com/mybuild/mybuild/pkg/dockercontext"
	"github.com/mybuild/mybuild/pkg/engine"
)

// builderName is the builder a build asks for, by docker's rules for
// `docker build`: --builder, else BUILDX_BUILDER; "" is the daemon's own
// builder, except where `docker buildx install` made docker build an alias
// of buildx build: then buildx's current instance (`docker buildx use`)
// applies, as for `docker buildx build`.
func builderName(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	return getenv("BUILDX_BUILDER")
}

// builderFor returns the builder a BuildKit build runs on.
func builderFor(o *buildkitOptions, cfg *dockerconfig.Config, sel *selection) (*buildkit.Builder, error) {
	ctxName := dockercontext.ContextName(dockercontext.Inputs{
		ContextFlag: o.Global.Context, Hosts: o.Global.Hosts, Env: o.Getenv, CurrentContext: cfg.CurrentContext(),
	})
	store := buildxstore.Open(buildxDir(o.Getenv))
	name := builderName(o.builder, o.Getenv)
	var ng *buildxstore.NodeGroup
	switch {
	case name == "" && cfg.BuilderAlias() == "buildx":
		key := ctxName
		if key == dockercontext.DefaultContextName {
			key = sel.client.Host()
		}
		var err error
		if ng, err = store.Current(key); err != nil {
			return nil, err
		}
	case name != "" && name != ctxName:
		found, err := store.NodeGroup(name)
		var ie *buildxstore.InvalidNameError
		switch {
		case err == nil:
			ng = found
		case errors.Is(err, os.ErrNotExist) || errors.As(err, &ie):
			if _, serr := os.Stat(dockercontext.MetaPath(dockerconfig.Dir(), name)); serr == nil {
				return nil, fmt.Errorf("use `docker --context=%s buildx` to switch to context %q", name, name)
			}
			return nil, fmt.Errorf("no builder %q found", name)
		default:
			return nil, err
		}
	}
	if ng == nil {
		if err := unreachable(sel.pingErr); err != nil {
			return nil, err
		}
		node := buildkit.DockerNode(sel.client, sel.client)
		node.Name = ctxName
		node.ProxyArgs = cfg.BuildKitProxies(sel.client.Host())
		return &buildkit.Builder{Name: ctxName, Driver: "docker", Nodes: []*buildkit.Node{node}}, nil
	}
	return storeBuilder(ng, sel, cfg)
}

// unreachable is a daemon that did not answer the ping, in the words of
// buildx's docker client (it fails before the build): a socket that is not
// there is named with the dial's error, one that cannot be opened says so,
// anything else is docker's sentence. nil when the daemon answered.
func unreachable(pingErr error) error {
	var ce *engine.ConnectionError
	if !errors.As(pingErr, &ce) {
		return nil
	}
	var op *net.OpError
	switch {
	case errors.Is(ce.Cause, os.ErrPermission):
		return fmt.Errorf("permission denied while trying to connect to the docker API at %v", ce.Host)
	case errors.Is(ce.Cause, os.ErrNotExist) && errors.As(ce.Cause, &op):
		return fmt.Errorf("failed to connect to the docker API at %v; check if the path is correct and if the daemon is running: %w", ce.Host, op)
	}
	return ce
}

// storeBuilder makes a builder instance of buildx's store: its remote
// nodes, which load images into the docker daemon mybuild talks to.
func storeBuilder(ng *buildxstore.NodeGroup, sel *selection, cfg *dockerconfig.Config) (*buildkit.Builder, error) {
	if ng.Driver != "remote" {
		return nil, fmt.Errorf("builder %q uses the %s driver, which mybuild does not support (it supports buildx's docker and remote drivers)", ng.Name, ng.Driver)
	}
	b := &buildkit.Builder{Name: ng.Name, Driver: ng.Driver}
	var firstErr error
	for _, sn := range ng.Nodes {
		n, err := buildkit.RemoteNode(sn.Name, sn.Endpoint, sn.Platforms, sn.DriverOpts, sn.BuildkitdFlags, sn.Files)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		n.Daemon = sel.client
		n.ProxyArgs = cfg.BuildKitProxies(sel.client.Host())
		b.Nodes = append(b.Nodes, n)
	}
	if len(b.Nodes) == 0 {
		if firstErr == nil {
			firstErr = errors.New("no drivers found")
		}
		return nil, fmt.Errorf("no valid drivers found: %w", firstErr)
	}
	return b, nil
}
