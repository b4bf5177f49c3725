package testbed

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// ManifestTypes are the manifest media types a registry read accepts.
const ManifestTypes = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

// RegClient reads what a push left in a registry of the bed (user "" for
// none).
type RegClient struct {
	Addr       string
	User, Pass string
}

// Get reads a manifest (kind "manifests") or a blob ("blobs") of repo, at
// most 8 MiB, and its media type.
func (r RegClient) Get(repo, kind, ref string) ([]byte, string, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.Addr+"/v2/"+repo+"/"+kind+"/"+ref, nil)
	req.Header.Set("Accept", ManifestTypes)
	if r.User != "" {
		req.SetBasicAuth(r.User, r.Pass)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s/%s/%s: %s", repo, kind, ref, resp.Status)
	}
	return b, resp.Header.Get("Content-Type"), nil
}
