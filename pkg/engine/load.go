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
	resp, err := c.do(ctx, http.MethodPost, c.apiPath("/images/load"), url.Values{"quiet": {"0"}}, archive, h)
	if err != nil {
		return nil, err
	}
	if err := c.checkResponse(resp); err != nil {
		drain(resp)
		return nil, err
	}
	return resp.Body, nil
}
