package buildkit

import (
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/ociindex"
	"github.com/moby/buildkit/identity"
	digest "github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
)

// ociLayoutRef is an oci-layout:// named context: a layout directory and
// the image in it, by tag (latest when neither is given) or digest.
type ociLayoutRef struct {
	path, tag string
	digest    digest.Digest
}

const ociLayoutPrefix = "oci-layout://"

// parseOCILayout reads an oci-layout://path[:tag][@digest] reference as
// buildx's util/ocilayout does; ok is false for any other scheme.
func parseOCILayout(s string) (ref ociLayoutRef, ok bool, err error) {
	p, ok := strings.CutPrefix(s, ociLayoutPrefix)
	if !ok {
		return ref, false, nil
	}
	if i := strings.LastIndex(p, "@"); i >= 0 && reference.DigestRegexp.MatchString(p[i+1:]) {
		d, err := digest.Parse(p[i+1:])
		if err != nil {
			return ref, true, err
		}
		p, ref.digest = p[:i], d
	}
	if i := strings.LastIndex(p, ":"); i >= 0 && !(i == 1 && len(p) > 2 && (p[2] == '/' || p[2] == '\\')) && reference.TagRegexp.MatchString(p[i+1:]) {
		p, ref.tag = p[:i], p[i+1:]
	}
	ref.path = p
	if ref.tag == "" && ref.digest == "" {
		ref.tag = "latest"
	}
	return ref, true, nil
}

// String is the reference as the frontend reads it.
func (r ociLayoutRef) String() string {
	s := ociLayoutPrefix + r.path
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest.String()
	}
	return s
}

// ociLayoutContext sends the layout of the named context k through the
// session's content store, as buildx does: the store under a random ID,
// the frontend told oci-layout://<ID>@<digest>, the digest resolved from
// the layout's index when the reference has none.
func ociLayoutContext(k, v string, ref ociLayoutRef, so *client.SolveOpt) error {
	if ref.digest == "" {
		d, err := layoutDigest(ref.path, ref.tag)
		if err != nil {
			return errors.Wrapf(err, "oci-layout reference %q could not be resolved", v)
		}
		ref.digest = d
	}
	store, err := local.NewStore(ref.path)
	if err != nil {
		return errors.Wrapf(err, "invalid store at %s", ref.path)
	}
	id := identity.NewID()
	if so.OCIStores == nil {
		so.OCIStores = map[string]content.Store{}
	}
	so.OCIStores[id] = store
	ref.path = id
	so.FrontendAttrs["context:"+k] = ref.String()
	return nil
}

// layoutDigest is the image tagged tag in the layout's index, or its only
// image.
func layoutDigest(dir, tag string) (digest.Digest, error) {
	idx := ociindex.NewStoreIndex(dir)
	desc, err := idx.Get(tag)
	if err != nil {
		return "", err
	}
	if desc == nil {
		if desc, err = idx.GetSingle(); err != nil {
			return "", err
		}
	}
	if desc == nil {
		return "", errors.New("failed to resolve digest")
	}
	if _, err := digest.Parse(string(desc.Digest)); err != nil {
		return "", errors.Wrapf(err, "invalid digest %s", desc.Digest)
	}
	return desc.Digest, nil
}
