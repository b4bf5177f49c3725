package engine

import (
	"context"
	"encoding/json"
	"net/http"
)

// ContainerdStore reports whether the daemon keeps its images in
// containerd's store (GET /info: a driver-type of
// io.containerd.snapshotter.v1), which imports OCI archives.
func (c *Client) ContainerdStore(ctx context.Context) (bool, error) {
	if err := c.ensureNegotiated(ctx); err != nil {
		return false, err
	}
	resp, err := c.do(ctx, http.MethodGet, c.apiPath("/info"), nil, nil, nil)
	if err != nil {
		return false, err
	}
	defer drain(resp)
	if err := c.checkResponse(resp); err != nil {
		return false, err
	}
	var info struct {
		DriverStatus [][2]string
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return false, err
	}
	for _, s := range info.DriverStatus {
		if s[0] == "driver-type" && s[1] == "io.containerd.snapshotter.v1" {
			return true, nil
		}
	}
	return false, nil
}
