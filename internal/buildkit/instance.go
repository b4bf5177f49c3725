package buildkit

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/endpoint"
	"github.com/mybuild/mybuild/pkg/buildxstore"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
	"github.com/mybuild/mybuild/pkg/dockercontext"
	"github.com/mybuild/mybuild/pkg/engine"
)

// BuilderName is the builder a build asks for, by docker's rules for
// `docker build`: --builder, else BUILDX_BUILDER; "" is the daemon's own
// builder, except where `docker buildx install` made docker build an alias
// of buildx build: then buildx's current instance (`docker buildx use`)
// applies, as for `docker buildx build` (see resolveInstance).
func BuilderName(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	return getenv("BUILDX_BUILDER")
}

// BuildxDir is buildx's state directory: $BUILDX_CONFIG, else the buildx
// folder of docker's configuration directory.
func BuildxDir(getenv func(string) string) string {
	if d := getenv("BUILDX_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(dockerconfig.Dir(), "buildx")
}

// resolveInstance returns the builder instance a build runs on: one of
// buildx's store, or the docker daemon's own (named after the docker
// context, as buildx names it).
func resolveInstance(req *build.Request) (*Instance, error) {
	cfg, d := req.Config, req.Daemon
	ctxName := req.DockerContext
	store := buildxstore.Open(BuildxDir(req.Getenv))
	name := BuilderName(req.BuildKit.Builder, req.Getenv)
	var ng *buildxstore.NodeGroup
	switch {
	case name == "" && cfg.BuilderAlias() == "buildx":
		key := ctxName
		if key == dockercontext.DefaultContextName {
			key = d.Client.Host()
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
		if err := unreachable(d.PingErr); err != nil {
			return nil, err
		}
		return dockerInstance(ctxName, d.Client, cfg.BuildKitProxies(d.Client.Host())), nil
	}
	nodeAPI := func(ep string) (*engine.Client, error) {
		switch {
		case ep == "" || ep == d.Client.Host() || ep == ctxName:
			return d.Client, nil
		case strings.Contains(ep, "://"):
			return engine.New(engine.Config{Host: ep})
		}
		// Another docker context, as buildx's dockerutil.NewClientAPI.
		return endpoint.New(endpoint.Options{Context: ep, Getenv: req.Getenv, Stderr: io.Discard}, cfg)
	}
	return storeInstance(ng, d.Client, nodeAPI, cfg.BuildKitProxies(d.Client.Host()))
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

// storeInstance makes a builder instance of buildx's store; its nodes load
// images into daemon, the docker daemon mybuild talks to. nodeAPI is the
// daemon a docker-container node's endpoint names.
func storeInstance(ng *buildxstore.NodeGroup, daemon *engine.Client, nodeAPI func(string) (*engine.Client, error), proxies map[string]string) (*Instance, error) {
	if ng.Driver != "remote" && ng.Driver != "docker-container" {
		return nil, fmt.Errorf("builder %q uses the %s driver, which mybuild does not support (it supports buildx's docker, docker-container and remote drivers)", ng.Name, ng.Driver)
	}
	b := &Instance{Name: ng.Name, Driver: ng.Driver}
	var firstErr error
	for _, sn := range ng.Nodes {
		var n *Node
		var err error
		if ng.Driver == "remote" {
			n, err = RemoteNode(sn.Name, sn.Endpoint, sn.Platforms, sn.DriverOpts, sn.BuildkitdFlags, sn.Files)
		} else {
			var api *engine.Client
			if api, err = nodeAPI(sn.Endpoint); err == nil {
				n, err = ContainerNode(api, sn.Name, sn.Platforms, sn.DriverOpts, sn.BuildkitdFlags, sn.Files)
			}
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		n.Daemon = daemon
		n.ProxyArgs = proxies
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
