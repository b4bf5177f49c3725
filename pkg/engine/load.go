package engine

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// LoadImage posts an image archive (docker or OCI layout tar) to
// /images/load and returns the daemon's JSON message stream.
func (c *Client) LoadImage(ctx context.Context, archive io.Reader) (io.ReadCloser, error) {
	if err := c.ensureNegotiated(ctx); err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-tar")
	return c.postStream(ctx, "/images/load", url.Values{"quiet": {"0"}}, archive, h)
}
