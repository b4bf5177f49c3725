package buildkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session/auth/authprovider"
	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"golang.org/x/sync/errgroup"
)

// registry reads and writes manifests in registries with config.json's
// credentials: what buildx's imagetools does to join the images that
// several nodes pushed into one manifest list. Loopback registries speak
// plain HTTP (as BuildKit's own pushes to them do).
type registry struct {
	resolver remotes.Resolver
}

func newRegistry(auth authprovider.AuthConfigProvider, insecure bool) *registry {
	creds := func(host string) (string, string, error) {
		if auth == nil {
			return "", "", nil
		}
		if host == "registry-1.docker.io" {
			host = "https://index.docker.io/v1/"
		}
		ac, err := auth(context.TODO(), host, nil, nil)
		if err != nil {
			return "", "", err
		}
		if ac.IdentityToken != "" {
			return "", ac.IdentityToken, nil
		}
		return ac.Username, ac.Password, nil
	}
	plain := docker.MatchLocalhost
	if insecure {
		plain = docker.MatchAllHosts
	}
	hosts := docker.ConfigureDefaultRegistries(
		docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds))),
		docker.WithPlainHTTP(plain),
	)
	return &registry{resolver: docker.NewResolver(docker.ResolverOptions{Hosts: hosts})}
}

func (r *registry) fetch(ctx context.Context, name string, desc ocispecs.Descriptor) ([]byte, error) {
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, err
	}
	f, err := r.resolver.Fetcher(ctx, reference.TrimNamed(ref).String())
	if err != nil {
		return nil, err
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 32<<20))
}

// combine makes the manifest list of descs (each a manifest or an index
// pushed to name's repository), with the index annotations asked for, as
// buildx's imagetools.Combine does.
func (r *registry) combine(ctx context.Context, name string, descs []ocispecs.Descriptor, ann map[exptypes.AnnotationKey]string) ([]byte, ocispecs.Descriptor, error) {
	dts := make([][]byte, len(descs))
	var mu sync.Mutex
	eg, gctx := errgroup.WithContext(ctx)
	for i := range descs {
		eg.Go(func() error {
			dt, err := r.fetch(gctx, name, descs[i])
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			dts[i] = dt
			if descs[i].MediaType == "" {
				var mt struct {
					MediaType string `json:"mediaType"`
				}
				if err := json.Unmarshal(dt, &mt); err != nil || mt.MediaType == "" {
					return errors.Errorf("failed to detect media type of %s", descs[i].Digest)
				}
				descs[i].MediaType = mt.MediaType
			}
			switch descs[i].MediaType {
			case images.MediaTypeDockerSchema2Manifest, ocispecs.MediaTypeImageManifest:
				p := descs[i].Platform
				if p == nil {
					p = &ocispecs.Platform{}
				}
				if p.OS == "" || p.Architecture == "" {
					if err := r.loadPlatform(gctx, name, p, dt); err != nil {
						return err
					}
				}
				descs[i].Platform = p
			case images.MediaTypeDockerSchema1Manifest:
				return errors.Errorf("schema1 manifests are not allowed in manifest lists")
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, ocispecs.Descriptor{}, err
	}
	index := map[digest.Digest]int{}
	var out []ocispecs.Descriptor
	add := func(d ocispecs.Descriptor) {
		if i, ok := index[d.Digest]; ok {
			old := out[i]
			if old.MediaType == "" {
				old.MediaType = d.MediaType
			}
			if d.Platform != nil {
				old.Platform = d.Platform
			}
			if old.Annotations == nil {
				old.Annotations = map[string]string{}
			}
			maps.Copy(old.Annotations, d.Annotations)
			out[i] = old
			return
		}
		index[d.Digest] = len(out)
		out = append(out, d)
	}
	for i, d := range descs {
		switch d.MediaType {
		case images.MediaTypeDockerSchema2ManifestList, ocispecs.MediaTypeImageIndex:
			var idx ocispecs.Index
			if err := json.Unmarshal(dts[i], &idx); err != nil {
				return nil, ocispecs.Descriptor{}, errors.WithStack(err)
			}
			for _, m := range idx.Manifests {
				add(m)
			}
		default:
			add(d)
		}
	}
	mt := images.MediaTypeDockerSchema2ManifestList
	for _, d := range out {
		if !strings.HasPrefix(d.MediaType, "application/vnd.docker.") {
			mt = ocispecs.MediaTypeImageIndex
		}
	}
	indexAnn := map[string]string{}
	if mt == ocispecs.MediaTypeImageIndex {
		for k, v := range ann {
			switch k.Type {
			case exptypes.AnnotationIndex:
				indexAnn[k.Key] = v
			case exptypes.AnnotationManifestDescriptor:
				for i := range out {
					if out[i].Annotations == nil {
						out[i].Annotations = map[string]string{}
					}
					if k.Platform == nil || k.PlatformString() == platforms.Format(*out[i].Platform) {
						out[i].Annotations[k.Key] = v
					}
				}
			case exptypes.AnnotationManifest, "":
				return nil, ocispecs.Descriptor{}, errors.Errorf("%q annotations are not supported yet", k.Type)
			case exptypes.AnnotationIndexDescriptor:
				return nil, ocispecs.Descriptor{}, errors.Errorf("%q annotations are invalid while creating an image", k.Type)
			}
		}
	}
	dt, err := json.MarshalIndent(ocispecs.Index{
		MediaType:   mt,
		Versioned:   specs.Versioned{SchemaVersion: 2},
		Manifests:   out,
		Annotations: indexAnn,
	}, "", "  ")
	if err != nil {
		return nil, ocispecs.Descriptor{}, errors.Wrap(err, "failed to marshal index")
	}
	return dt, ocispecs.Descriptor{MediaType: mt, Size: int64(len(dt)), Digest: digest.FromBytes(dt)}, nil
}

func (r *registry) loadPlatform(ctx context.Context, name string, p *ocispecs.Platform, dt []byte) error {
	var m ocispecs.Manifest
	if err := json.Unmarshal(dt, &m); err != nil {
		return errors.WithStack(err)
	}
	cfg, err := r.fetch(ctx, name, m.Config)
	if err != nil {
		return err
	}
	var c ocispecs.Platform
	if err := json.Unmarshal(cfg, &c); err != nil {
		return errors.WithStack(err)
	}
	*p = platforms.Normalize(c)
	return nil
}

// push writes the manifest list dt under name.
func (r *registry) push(ctx context.Context, name string, desc ocispecs.Descriptor, dt []byte) error {
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return err
	}
	ref = reference.TagNameOnly(ref)
	full, err := reference.WithDigest(ref, desc.Digest)
	if err != nil {
		return errors.Wrapf(err, "failed to combine ref %s with digest %s", ref, desc.Digest)
	}
	ctx = remotes.WithMediaTypeKeyPrefix(ctx, "application/vnd.in-toto+json", "intoto")
	p, err := r.resolver.Pusher(ctx, full.String())
	if err != nil {
		return err
	}
	cw, err := p.Push(ctx, desc)
	if err != nil {
		if errdefs.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	err = content.Copy(ctx, cw, bytes.NewReader(dt), desc.Size, desc.Digest)
	if errdefs.IsAlreadyExists(err) {
		return nil
	}
	return err
}
