package buildkit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/session"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"golang.org/x/sync/errgroup"
)

// resolvedNode is a node and the platforms it builds (none: its default).
type resolvedNode struct {
	n         *Node
	platforms []ocispecs.Platform
}

// resolveNodes sends each requested platform to the node that declares it,
// as buildx's node resolver does: a strict match on the declared
// platforms first; failing that, every node is asked for its workers'
// platforms and a compatible one is taken; what nothing matches goes to
// the first node. Nodes that get several platforms build them together.
func (o *options) resolveNodes(ctx context.Context, b *Instance, p *printer) ([]*resolvedNode, error) {
	if len(o.platforms) == 0 {
		if err := o.boot(ctx, p, b.Nodes[0]); err != nil {
			return nil, err
		}
		return []*resolvedNode{{n: b.Nodes[0]}}, nil
	}
	pick := func(matcher func(ocispecs.Platform) platforms.MatchComparer, extra func(*Node) []ocispecs.Platform) ([]int, bool) {
		idxs := make([]int, len(o.platforms))
		perfect := true
		for i, want := range o.platforms {
			best := -1
			var bestP ocispecs.Platform
			for j, n := range b.Nodes {
				cands := n.Platforms
				if extra != nil {
					cands = append(append([]ocispecs.Platform{}, cands...), extra(n)...)
				}
				for _, p2 := range cands {
					m := matcher(p2)
					if !m.Match(want) {
						continue
					}
					if best == -1 || m.Less(want, bestP) {
						best, bestP = j, p2
					}
				}
			}
			if best == -1 {
				best, perfect = 0, false
			}
			idxs[i] = best
		}
		return idxs, perfect
	}
	idxs, perfect := pick(platforms.OnlyStrict, nil)
	if !perfect {
		if err := o.boot(ctx, p, b.Nodes...); err != nil {
			return nil, err
		}
		idxs, _ = pick(platforms.Only, func(n *Node) []ocispecs.Platform {
			var ps []ocispecs.Platform
			for _, w := range n.workers {
				ps = append(ps, w.Platforms...)
			}
			return ps
		})
	}
	var out []*resolvedNode
	byNode := map[int]*resolvedNode{}
	for i, idx := range idxs {
		r, ok := byNode[idx]
		if !ok {
			r = &resolvedNode{n: b.Nodes[idx]}
			byNode[idx] = r
			out = append(out, r)
		}
		r.platforms = append(r.platforms, o.platforms[i])
	}
	used := make([]*Node, 0, len(out))
	for _, r := range out {
		used = append(used, r.n)
	}
	if err := o.boot(ctx, p, used...); err != nil {
		return nil, err
	}
	return out, nil
}

// boot connects the nodes (in parallel), waiting for a remote one that
// does not answer yet.
func (o *options) boot(ctx context.Context, p *printer, nodes ...*Node) error {
	eg, ctx := errgroup.WithContext(ctx)
	for _, n := range nodes {
		eg.Go(func() error {
			c, err := n.dial(ctx)
			if err != nil {
				return err
			}
			if n.waitReady {
				if err := n.waitConnection(ctx, c, p); err != nil {
					return err
				}
			}
			return n.learn(ctx, c)
		})
	}
	return eg.Wait()
}

// solveNodes builds on several nodes at once, each its platforms, and
// joins what they pushed into one manifest list, as buildx does.
func (o *options) solveNodes(ctx context.Context, b *Instance, p *printer, nodes []*resolvedNode, exports []client.ExportEntry, attachables []session.Attachable) (_ *client.SolveResponse, _ *inputs, solveErr error) {
	type job struct {
		opts *options
		req  *solveRequest
		resp *client.SolveResponse
	}
	git, gerr := o.gitAttributes(ctx)
	if gerr != nil {
		o.log.warn("current commit information was not captured by the build", gerr)
	}
	ref := identity.NewID()
	jobs := make([]*job, len(nodes))
	var pushNames string
	insecure := false
	for i, r := range nodes {
		no := *o
		no.platforms = r.platforms
		bopts, err := buildOpts(ctx, r.n.client)
		if err != nil {
			return nil, nil, err
		}
		req, err := no.toSolveOpt(ctx, b, r.n, bopts, cloneExports(exports), true)
		if err != nil {
			return nil, nil, err
		}
		defer req.close()
		req.so.Ref = ref
		if err := no.saveLocalState(b, r.n, ref); err != nil {
			return nil, nil, err
		}
		req.so.Session = append(req.so.Session, attachables...)
		git.apply(req.so.FrontendAttrs, req.inputs.mountDirs)
		endPolicy, err := no.setPolicies(ctx, r.n.client, bopts, req.inputs.policy, &req.so, p)
		if err != nil {
			return nil, nil, err
		}
		defer func() { endPolicy(solveErr) }()
		if err := prepareMultiNodeExports(&req.so, &pushNames, &insecure); err != nil {
			return nil, nil, err
		}
		jobs[i] = &job{opts: &no, req: req}
	}
	if b.Nodes[0].Moby {
		for _, j := range jobs {
			for _, e := range j.req.so.Exports {
				if ok, _ := strconv.ParseBool(e.Attrs["push"]); e.Type == "moby" && ok {
					return nil, nil, errors.Errorf("multi-node push can't currently be performed with the docker driver, please switch to a different driver")
				}
			}
		}
	}
	o.warnNoOutput(b, nodes[0].n, &jobs[0].req.so)
	eg, gctx := errgroup.WithContext(ctx)
	for i, j := range jobs {
		n := nodes[i].n
		eg.Go(func() error {
			so := j.req.so
			resp, err := j.opts.solveOn(gctx, b, n, n.client, &so, p)
			j.resp = resp
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	resp := jobs[0].resp
	if pushNames == "" {
		return resp, jobs[0].req.inputs, nil
	}
	err := p.vertex(fmt.Sprintf("merging manifest list %s", pushNames), func(func(*client.VertexStatus)) error {
		var descs []ocispecs.Descriptor
		for _, j := range jobs {
			if s, ok := j.resp.ExporterResponse[exptypes.ExporterImageDescriptorKey]; ok {
				dt, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return err
				}
				var d ocispecs.Descriptor
				if err := json.Unmarshal(dt, &d); err != nil {
					return errors.Wrapf(err, "failed to unmarshal descriptor %s", s)
				}
				descs = append(descs, d)
			} else if s, ok := j.resp.ExporterResponse[exptypes.ExporterImageDigestKey]; ok {
				descs = append(descs, ocispecs.Descriptor{Digest: digest.Digest(s), MediaType: images.MediaTypeDockerSchema2ManifestList, Size: -1})
			}
		}
		if len(descs) == 0 {
			return nil
		}
		reg := newRegistry(o.Auth, insecure)
		names := strings.Split(pushNames, ",")
		ann, err := indexAnnotations(exports)
		if err != nil {
			return err
		}
		dt, desc, err := reg.combine(ctx, names[0], descs, ann)
		if err != nil {
			return err
		}
		for _, name := range names {
			if err := reg.push(ctx, name, desc, dt); err != nil {
				return err
			}
		}
		resp = &client.SolveResponse{ExporterResponse: map[string]string{exptypes.ExporterImageDigestKey: desc.Digest.String()}}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return resp, jobs[0].req.inputs, nil
}

// prepareMultiNodeExports: each node pushes its image by digest to the
// repository only; the manifest list is pushed under the tags afterwards.
func prepareMultiNodeExports(so *client.SolveOpt, pushNames *string, insecure *bool) error {
	prepared := false
	for i := range so.Exports {
		e := &so.Exports[i]
		switch e.Type {
		case "oci", "tar":
			return errors.Errorf("%s for multi-node builds currently not supported", e.Type)
		case "image":
			if prepared {
				continue
			}
			if ok, _ := strconv.ParseBool(e.Attrs["push"]); !ok {
				continue
			}
			if *pushNames == "" {
				*pushNames = e.Attrs["name"]
				if *pushNames == "" {
					return errors.Errorf("tag is needed when pushing to registry")
				}
				if ok, _ := strconv.ParseBool(e.Attrs["registry.insecure"]); ok {
					*insecure = true
				}
			}
			names, err := repoOnly(e.Attrs["name"])
			if err != nil {
				return err
			}
			e.Attrs["name"] = names
			e.Attrs["push-by-digest"] = "true"
			prepared = true
		}
	}
	return nil
}

func repoOnly(in string) (string, error) {
	seen := map[string]bool{}
	var out []string
	for ref := range strings.SplitSeq(in, ",") {
		n, err := reference.ParseNormalizedNamed(ref)
		if err != nil {
			return "", err
		}
		if !seen[n.Name()] {
			seen[n.Name()] = true
			out = append(out, n.Name())
		}
	}
	return strings.Join(out, ","), nil
}

// indexAnnotations are the --annotation values for the manifest list.
func indexAnnotations(exports []client.ExportEntry) (map[exptypes.AnnotationKey]string, error) {
	out := map[exptypes.AnnotationKey]string{}
	for _, e := range exports {
		for k, v := range e.Attrs {
			ak, ok, err := exptypes.ParseAnnotationKey(k)
			if !ok {
				continue
			}
			if err != nil {
				return nil, err
			}
			if ak.Type == exptypes.AnnotationIndex || ak.Type == exptypes.AnnotationManifestDescriptor {
				out[ak] = v
			}
		}
	}
	return out, nil
}
