package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Ulimit is one --ulimit value; its JSON is what the daemon expects.
type Ulimit struct {
	Name string
	Hard int64
	Soft int64
}

// AuthConfig is one registry's credentials in X-Registry-Config.
type AuthConfig struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	Email         string `json:"email,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// BuildOptions are the classic builder's /build parameters.
type BuildOptions struct {
	Tags           []string
	SuppressOutput bool
	NoCache        bool
	Remove         bool
	ForceRemove    bool
	PullParent     bool
	Squash         bool
	Isolation      string
	CPUSetCPUs     string
	CPUSetMems     string
	CPUShares      int64
	CPUQuota       int64
	CPUPeriod      int64
	Memory         int64
	MemorySwap     int64
	CgroupParent   string
	NetworkMode    string
	ShmSize        int64
	Dockerfile     string
	Ulimits        []Ulimit
	BuildArgs      map[string]*string
	Labels         map[string]string
	CacheFrom      []string
	SecurityOpt    []string
	ExtraHosts     []string
	Target         string
	Platform       string
	AuthConfigs    map[string]AuthConfig
}

// Query encodes o as docker 28's client library does: zero values are left
// out, JSON values are marshalled by encoding/json, version=1 always.
func (o BuildOptions) Query() (url.Values, error) {
	q := url.Values{}
	setList := func(k string, v []string) {
		if len(v) > 0 {
			q[k] = v
		}
	}
	setStr := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	setInt := func(k string, v int64) {
		if v != 0 {
			q.Set(k, strconv.FormatInt(v, 10))
		}
	}
	setFlag := func(k string, v bool) {
		if v {
			q.Set(k, "1")
		}
	}
	setJSON := func(k string, v any, n int) error {
		if n == 0 {
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		q.Set(k, string(b))
		return nil
	}
	setList("t", o.Tags)
	setList("securityopt", o.SecurityOpt)
	setList("extrahosts", o.ExtraHosts)
	setFlag("q", o.SuppressOutput)
	setFlag("nocache", o.NoCache)
	if !o.Remove {
		q.Set("rm", "0")
	}
	setFlag("forcerm", o.ForceRemove)
	setFlag("pull", o.PullParent)
	setFlag("squash", o.Squash)
	if !strings.EqualFold(o.Isolation, "default") {
		setStr("isolation", o.Isolation)
	}
	setStr("cpusetcpus", o.CPUSetCPUs)
	if o.NetworkMode != "default" {
		setStr("networkmode", o.NetworkMode)
	}
	setStr("cpusetmems", o.CPUSetMems)
	setInt("cpushares", o.CPUShares)
	setInt("cpuquota", o.CPUQuota)
	setInt("cpuperiod", o.CPUPeriod)
	setInt("memory", o.Memory)
	setInt("memswap", o.MemorySwap)
	setStr("cgroupparent", o.CgroupParent)
	setInt("shmsize", o.ShmSize)
	setStr("dockerfile", o.Dockerfile)
	setStr("target", o.Target)
	for _, j := range []struct {
		k string
		v any
		n int
	}{
		{"ulimits", o.Ulimits, len(o.Ulimits)},
		{"buildargs", o.BuildArgs, len(o.BuildArgs)},
		{"labels", o.Labels, len(o.Labels)},
		{"cachefrom", o.CacheFrom, len(o.CacheFrom)},
	} {
		if err := setJSON(j.k, j.v, j.n); err != nil {
			return nil, err
		}
	}
	setStr("platform", strings.ToLower(o.Platform))
	q.Set("version", "1")
	return q, nil
}

// RegistryConfigHeader is the X-Registry-Config value for auths: URL-safe
// base64 of their JSON, "e30=" ({}) when there are none.
func RegistryConfigHeader(auths map[string]AuthConfig) (string, error) {
	if auths == nil {
		auths = map[string]AuthConfig{}
	}
	b, err := json.Marshal(auths)
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// BuildResponse is the daemon's answer to /build: a JSON message stream.
type BuildResponse struct {
	Body io.ReadCloser
}

// Build posts body (a tar, possibly compressed) to /build.
func (c *Client) Build(ctx context.Context, body io.Reader, o BuildOptions) (*BuildResponse, error) {
	if err := c.ensureNegotiated(ctx); err != nil {
		return nil, err
	}
	if o.Squash {
		if err := c.VersionError("1.25", "squash"); err != nil {
			return nil, err
		}
	}
	if o.Platform != "" {
		if err := c.VersionError("1.32", "platform"); err != nil {
			return nil, err
		}
	}
	q, err := o.Query()
	if err != nil {
		return nil, err
	}
	reg, err := RegistryConfigHeader(o.AuthConfigs)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("X-Registry-Config", reg)
	h.Set("Content-Type", "application/x-tar")
	rctx, cancel := context.WithCancelCause(ctx)
	if c.timeout > 0 {
		body = watchUpload(rctx, body, c.timeout, func() {
			cancel(&TimeoutError{Host: c.host, What: "read the build context", After: c.timeout})
		})
	}
	resp, err := c.do(rctx, http.MethodPost, c.apiPath("/build"), q, body, h)
	if err != nil {
		cancel(nil)
		return nil, c.withTLSAlert(err)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	if err := c.checkResponse(resp); err != nil {
		drain(resp)
		return nil, err
	}
	return &BuildResponse{Body: resp.Body}, nil
}

func (c *Client) apiPath(p string) string {
	return path.Join("/", c.basePath, "/v"+c.version, p)
}

// cancelOnClose releases the request's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
