package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"github.com/distribution/reference"
)

// PushImage pushes the image name from the daemon's store (POST
// /images/{name}/push) with registryAuth (base64url JSON credentials) and
// returns the daemon's JSON message stream.
func (c *Client) PushImage(ctx context.Context, name, registryAuth string) (io.ReadCloser, error) {
	if err := c.ensureNegotiated(ctx); err != nil {
		return nil, err
	}
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if t, ok := ref.(reference.Tagged); ok {
		q.Set("tag", t.Tag())
	}
	h := http.Header{}
	h.Set("X-Registry-Auth", registryAuth)
	return c.postStream(ctx, "/images/"+reference.FamiliarName(ref)+"/push", q, nil, h)
}

// RepoDigests are the image's digests in registries (GET
// /images/{name}/json).
func (c *Client) RepoDigests(ctx context.Context, name string) ([]string, error) {
	var img struct{ RepoDigests []string }
	if err := c.getJSON(ctx, "/images/"+name+"/json", nil, &img); err != nil {
		return nil, err
	}
	return img.RepoDigests, nil
}

// DistributionDigest is the digest the registry has for name (GET
// /distribution/{name}/json).
func (c *Client) DistributionDigest(ctx context.Context, name, registryAuth string) (string, error) {
	var d struct {
		Descriptor struct{ Digest string }
	}
	h := http.Header{}
	h.Set("X-Registry-Auth", registryAuth)
	if err := c.getJSON(ctx, "/distribution/"+name+"/json", h, &d); err != nil {
		return "", err
	}
	return d.Descriptor.Digest, nil
}

func (c *Client) getJSON(ctx context.Context, p string, h http.Header, v any) error {
	if err := c.ensureNegotiated(ctx); err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodGet, c.apiPath(p), nil, nil, h)
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := c.checkResponse(resp); err != nil {
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
