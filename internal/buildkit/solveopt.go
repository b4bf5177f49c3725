package buildkit

import (
	"context"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/pkg/errors"
	"github.com/tonistiigi/fsutil"
)

// solveRequest is what one node is asked to do.
type solveRequest struct {
	so     client.SolveOpt
	inputs *inputs
}

// close releases the request's inputs (temporary files, mounts).
func (r *solveRequest) close() {
	if r.inputs != nil {
		r.inputs.release()
	}
}

func notSupported(f feature, driver, docs string) error {
	return errors.Errorf(`%s is not supported for the %s driver.
Switch to a different driver, or turn on the containerd image store, and try again.
Learn more at %s`, f, driver, docs)
}

// toSolveOpt maps the options to one node's SolveOpt, as buildx's toSolveOpt
// does for a single-node builder.
func (o *options) toSolveOpt(ctx context.Context, b *Instance, n *Node, bopts gateway.BuildOpts, exports []client.ExportEntry, multiDriver bool) (_ *solveRequest, err error) {
	features := n.features
	req := &solveRequest{}
	defer func() {
		if err != nil {
			req.close()
		}
	}()

	cacheTo := slices.Clone(o.cacheTo)
	if v, ok := o.buildArgs["BUILDKIT_INLINE_CACHE"]; ok {
		if v, _ := strconv.ParseBool(v); v {
			cacheTo = append(cacheTo, cacheEntry{Type: "inline", Attrs: map[string]string{}})
		}
	}
	for _, e := range cacheTo {
		if e.Type != "inline" && !features[cacheExport] {
			return nil, notSupported(cacheExport, b.Driver, "https://docs.docker.com/go/build-cache-backends/")
		}
	}
	so := client.SolveOpt{
		Frontend:            "dockerfile.v0",
		FrontendAttrs:       map[string]string{},
		LocalMounts:         map[string]fsutil.FS{},
		CacheExports:        withCacheCaps(activeCaches(cacheTo, o.LookupEnv), bopts),
		CacheImports:        withCacheCaps(activeCaches(o.cacheFrom, o.LookupEnv), bopts),
		AllowedEntitlements: slices.Clone(o.allow),
		SourcePolicy:        o.sourcePolicy,
	}
	if o.CgroupParent != "" {
		so.FrontendAttrs["cgroup-parent"] = o.CgroupParent
	}
	if v, ok := o.buildArgs["BUILDKIT_SYNTAX"]; ok {
		cmdline := strings.TrimSpace(v)
		if cmdline == "" {
			return nil, errors.Errorf("empty BUILDKIT_SYNTAX build-arg is invalid, use --build-arg BUILDKIT_SYNTAX without '=' for optional behavior")
		}
		so.Frontend = "gateway.v0"
		so.FrontendAttrs["source"] = strings.SplitN(cmdline, " ", 2)[0]
		so.FrontendAttrs["cmdline"] = v
	}
	if v, ok := o.buildArgs["BUILDKIT_MULTI_PLATFORM"]; ok {
		if v, _ := strconv.ParseBool(v); v {
			so.FrontendAttrs["multi-platform"] = "true"
		}
	}
	if multiDriver {
		so.FrontendAttrs["multi-platform"] = "true"
	}

	attests := map[string]string{}
	for k, v := range o.attests {
		if v != nil {
			attests[k] = *v
		}
	}
	supportAttestations := bopts.LLBCaps.Contains(apicaps.CapID("exporter.image.attestations")) && features[multiPlatform]
	if len(attests) > 0 {
		if !supportAttestations {
			if !features[multiPlatform] {
				return nil, notSupported("Attestation", b.Driver, "https://docs.docker.com/go/attestations/")
			}
			return nil, errors.Errorf("Attestations are not supported by the current BuildKit daemon")
		}
		for k, v := range attests {
			so.FrontendAttrs["attest:"+k] = v
		}
	}
	if _, ok := o.attests["provenance"]; !ok && supportAttestations {
		noProv := false
		if v, ok := o.LookupEnv("BUILDX_NO_DEFAULT_ATTESTATIONS"); ok {
			if noProv, err = strconv.ParseBool(v); err != nil {
				return nil, errors.Wrap(err, "invalid BUILDX_NO_DEFAULT_ATTESTATIONS")
			}
		}
		if !noProv {
			so.FrontendAttrs["attest:provenance"] = "mode=min,inline-only=true"
		}
	}
	buildInfoAttrs, buildInfoAttrsSet := o.buildArgs["BUILDKIT_INLINE_BUILDINFO_ATTRS"]
	noDefaultOCIArtifact := false
	if v, ok := o.LookupEnv("BUILDX_NO_DEFAULT_OCI_ARTIFACT"); ok {
		if noDefaultOCIArtifact, err = strconv.ParseBool(v); err != nil {
			return nil, errors.Wrap(err, "invalid BUILDX_NO_DEFAULT_OCI_ARTIFACT")
		}
	}
	noDefaultOCIArtifact = noDefaultOCIArtifact && supportAttestations

	switch len(exports) {
	case 1:
	case 0:
		if !o.noDefaultLoad() && o.callFunc == nil {
			if n.Moby {
				// The docker driver's default: an image in the daemon.
				exports = []client.ExportEntry{{Type: "image", Attrs: map[string]string{}}}
			} else if n.DefaultLoad {
				exports = []client.ExportEntry{{Type: "docker", Attrs: map[string]string{}}}
			}
		}
	default:
		if err := bopts.LLBCaps.Supports(pb.CapMultipleExporters); err != nil {
			return nil, errors.Errorf("multiple outputs currently unsupported by the current BuildKit daemon, please upgrade to version v0.13+ or use a single output")
		}
	}
	if len(exports) > 0 && o.callFunc == nil && len(o.annotations) > 0 && n.Moby && !features[multiPlatform] {
		for _, e := range exports {
			if e.Type == "image" || e.Type == "docker" {
				for ak := range o.annotations {
					if ak.Type == exptypes.AnnotationIndex || ak.Type == exptypes.AnnotationIndexDescriptor {
						return nil, errors.New("index annotations not supported for single platform export")
					}
				}
			}
		}
	}
	var tags []string
	if len(o.Tags) > 0 {
		for _, t := range o.Tags {
			ref, err := reference.Parse(t)
			if err != nil {
				return nil, errors.Wrapf(err, "invalid tag %q", t)
			}
			tags = append(tags, ref.String())
		}
		for i, e := range exports {
			switch e.Type {
			case "image", "oci", "docker":
				exports[i].Attrs["name"] = strings.Join(tags, ",")
			}
		}
	} else {
		for _, e := range exports {
			if e.Type == "image" && e.Attrs["name"] == "" && e.Attrs["push"] != "" {
				if ok, _ := strconv.ParseBool(e.Attrs["push"]); ok {
					return nil, errors.Errorf("tag is needed when pushing to registry")
				}
			}
		}
	}

	for _, e := range exports {
		if e.Type == "cacheonly" { // a fake exporter: opts out of the default one
			continue
		}
		e.Attrs = maps.Clone(e.Attrs)
		if e.Type == "oci" && !features[ociExporter] {
			return nil, notSupported(ociExporter, b.Driver, "https://docs.docker.com/go/build-exporters/")
		}
		if e.Type == "docker" {
			if e.Output == nil {
				if err := o.prepareLoad(ctx, b, n, &e, len(attests) > 0); err != nil {
					return nil, err
				}
			} else if !features[dockerExporter] {
				return nil, notSupported(dockerExporter, b.Driver, "https://docs.docker.com/go/build-exporters/")
			}
		}
		if e.Type == "image" && n.Moby {
			e.Type = "moby"
			if features[preferImageDigest] {
				e.Attrs["prefer-image-digest"] = "true"
			}
			if ok, _ := strconv.ParseBool(e.Attrs["push"]); ok {
				if ok, _ := strconv.ParseBool(e.Attrs["push-by-digest"]); ok {
					return nil, errors.Errorf("push-by-digest is currently not implemented for docker driver, please create a new builder instance")
				}
			}
		}
		if (e.Type == "docker" || e.Type == "image" || e.Type == "oci") && buildInfoAttrsSet {
			e.Attrs["buildinfo-attrs"] = buildInfoAttrs
		}
		if noDefaultOCIArtifact {
			switch e.Type {
			case client.ExporterImage, client.ExporterOCI, "moby":
				if _, ok := e.Attrs[string(exptypes.OptKeyOCIArtifact)]; !ok {
					e.Attrs[string(exptypes.OptKeyOCIArtifact)] = "false"
				}
			}
		}
		so.Exports = append(so.Exports, e)
	}

	for k, v := range o.buildArgs {
		so.FrontendAttrs["build-arg:"+k] = v
	}
	for k, v := range o.labels {
		so.FrontendAttrs["label:"+k] = v
	}
	if req.inputs, err = o.loadInputs(&so); err != nil {
		return nil, err
	}
	if nodeID := o.nodeID(); so.SharedKey != "" {
		so.SharedKey += ":" + nodeID
	}
	for k, v := range so.FrontendAttrs {
		if strings.HasPrefix(k, "sharedkey:localdir:") {
			so.FrontendAttrs[k] = v + ":" + o.nodeID()
		}
	}
	if o.Pull {
		so.FrontendAttrs["image-resolve-mode"] = pb.AttrImageResolveModeForcePull
	} else if n.Moby {
		so.FrontendAttrs["image-resolve-mode"] = pb.AttrImageResolveModePreferLocal
	}
	if o.Target != "" {
		so.FrontendAttrs["target"] = o.Target
	}
	if len(o.NoCacheFilter) > 0 {
		so.FrontendAttrs["no-cache"] = strings.Join(o.NoCacheFilter, ",")
	}
	if o.NoCache {
		so.FrontendAttrs["no-cache"] = ""
	}
	for k, v := range n.ProxyArgs {
		if !hasKeyFold(o.buildArgs, k) {
			so.FrontendAttrs["build-arg:"+k] = v
		}
	}
	if len(o.platforms) != 0 {
		pp := make([]string, len(o.platforms))
		for i, p := range o.platforms {
			pp[i] = platforms.FormatAll(p)
		}
		if len(pp) > 1 && !features[multiPlatform] {
			return nil, notSupported(multiPlatform, b.Driver, "https://docs.docker.com/go/build-multi-platform/")
		}
		so.FrontendAttrs["platform"] = strings.Join(pp, ",")
	}
	switch o.NetworkMode {
	case "host":
		so.FrontendAttrs["force-network-mode"] = o.NetworkMode
		so.AllowedEntitlements = append(so.AllowedEntitlements, entitlements.EntitlementNetworkHost.String())
	case "none":
		so.FrontendAttrs["force-network-mode"] = o.NetworkMode
	case "", "default":
	default:
		return nil, errors.Errorf("network mode %q not supported by buildkit - you can define a custom network for your builder using the network driver-opt in buildx create", o.NetworkMode)
	}
	hosts, err := extraHosts(o.ExtraHosts, n)
	if err != nil {
		return nil, err
	}
	if hosts != "" {
		so.FrontendAttrs["add-hosts"] = hosts
	}
	if o.ShmSize > 0 {
		so.FrontendAttrs["shm-size"] = strconv.FormatInt(o.ShmSize, 10)
	}
	if len(o.Ulimits) > 0 {
		ul := make([]string, len(o.Ulimits))
		for i, u := range o.Ulimits {
			ul[i] = u.String()
		}
		so.FrontendAttrs["ulimit"] = strings.Join(ul, ",")
	}
	if err := addResourceLimits(o.Resources, so.FrontendAttrs); err != nil {
		return nil, err
	}
	if o.callFunc != nil {
		so.Internal = true
	}
	req.so = so
	return req, nil
}

// withCacheCaps leaves out the GitHub and S3 caches a daemon cannot use.
func withCacheCaps(in []cacheEntry, bopts gateway.BuildOpts) []cacheEntry {
	out := make([]cacheEntry, 0, len(in))
	for _, e := range in {
		if (e.Type == "gha" || e.Type == "s3") && !bopts.LLBCaps.Contains(apicaps.CapID("cache."+e.Type)) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func (o *options) noDefaultLoad() bool {
	b, _ := boolEnv(o.LookupEnv("BUILDX_NO_DEFAULT_LOAD"))
	return b
}

// extraHosts converts --add-host host:ip (or host=ip, several IPs with
// commas, host-gateway) to BuildKit's host=ip list.
func extraHosts(in []string, n *Node) (string, error) {
	var hosts []string
	for _, h := range in {
		host, ip, ok := strings.Cut(h, "=")
		if !ok {
			host, ip, ok = strings.Cut(h, ":")
		}
		if !ok || host == "" || ip == "" {
			return "", errors.Errorf("invalid host %s", h)
		}
		var ips []string
		if ip == "host-gateway" {
			gw, err := n.hostGatewayIP()
			if err != nil {
				return "", errors.Wrap(err, "unable to derive the IP value for host-gateway")
			}
			ips = append(ips, gw.String())
		} else {
			for v := range strings.SplitSeq(ip, ",") {
				if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
					v = v[1 : len(v)-1]
				}
				if net.ParseIP(v) == nil {
					return "", errors.Errorf("invalid host %s", h)
				}
				ips = append(ips, v)
			}
		}
		for _, v := range ips {
			hosts = append(hosts, host+"="+v)
		}
	}
	return strings.Join(hosts, ","), nil
}

func hasKeyFold(m map[string]string, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}
