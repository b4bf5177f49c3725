package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
)

// ContainerState is what a build needs to know of a container.
type ContainerState struct {
	Running   bool
	StartedAt string
}

// ContainerState inspects the container name (GET /containers/{name}/json);
// an *APIError with status 404 when there is none.
func (c *Client) ContainerState(ctx context.Context, name string) (ContainerState, error) {
	var v struct {
		State *ContainerState
	}
	if err := c.getJSON(ctx, "/containers/"+url.PathEscape(name)+"/json", nil, &v); err != nil {
		return ContainerState{}, err
	}
	if v.State == nil {
		return ContainerState{}, nil
	}
	return *v.State, nil
}

// ContainerCreate creates the container name from config, the JSON body of
// POST /containers/create (docker's Config with a HostConfig member), and
// returns its ID.
func (c *Client) ContainerCreate(ctx context.Context, name string, config any) (string, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	var v struct {
		ID string `json:"Id"`
	}
	if err := c.postJSON(ctx, "/containers/create", q, config, &v); err != nil {
		return "", err
	}
	return v.ID, nil
}

// ContainerStart starts the container name.
func (c *Client) ContainerStart(ctx context.Context, name string) error {
	return c.postJSON(ctx, "/containers/"+url.PathEscape(name)+"/start", nil, nil, nil)
}

// CopyToContainer extracts the tar archive into dir of the container name.
func (c *Client) CopyToContainer(ctx context.Context, name, dir string, archive io.Reader) error {
	if err := c.ensureNegotiated(ctx); err != nil {
		return err
	}
	q := url.Values{"path": {dir}, "noOverwriteDirNonDir": {"true"}}
	resp, err := c.do(ctx, http.MethodPut, c.apiPath("/containers/"+url.PathEscape(name)+"/archive"), q, archive,
		http.Header{"Content-Type": {"application/x-tar"}})
	if err != nil {
		return err
	}
	defer drain(resp)
	return c.checkResponse(resp)
}

// ExecAttach runs cmd in the container name with its standard streams
// attached (docker exec -i, no TTY) and returns the hijacked connection,
// stdout and stderr multiplexed as docker's stdcopy frames, and the exec's
// ID for ExecExitCode.
func (c *Client) ExecAttach(ctx context.Context, name string, cmd []string) (string, net.Conn, error) {
	var v struct {
		ID string `json:"Id"`
	}
	body := map[string]any{"AttachStdin": true, "AttachStdout": true, "AttachStderr": true, "Cmd": cmd}
	if err := c.postJSON(ctx, "/containers/"+url.PathEscape(name)+"/exec", nil, body, &v); err != nil {
		return "", nil, err
	}
	if v.ID == "" {
		return "", nil, &APIError{StatusCode: http.StatusInternalServerError, Bare: true, Message: "exec ID empty"}
	}
	start, _ := json.Marshal(map[string]bool{"Detach": false, "Tty": false})
	conn, err := c.hijack(ctx, c.apiPath("/exec/"+v.ID+"/start"), "tcp", start, nil)
	if err != nil {
		return "", nil, err
	}
	return v.ID, conn, nil
}

// ExecExitCode is the exit code of the exec id.
func (c *Client) ExecExitCode(ctx context.Context, id string) (int, error) {
	var v struct{ ExitCode int }
	if err := c.getJSON(ctx, "/exec/"+id+"/json", nil, &v); err != nil {
		return 0, err
	}
	return v.ExitCode, nil
}

// Info is what a builder needs of GET /info.
type Info struct {
	CgroupDriver    string
	SecurityOptions []string
	OSType          string
	Architecture    string
}

// Info reads the daemon's GET /info.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var v Info
	err := c.getJSON(ctx, "/info", nil, &v)
	return v, err
}

// ImageExists inspects the image ref; false with a nil error when the
// daemon has none.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	var v json.RawMessage
	err := c.getJSON(ctx, "/images/"+ref+"/json", nil, &v)
	if ae, ok := err.(*APIError); ok && ae.StatusCode == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// PullImage pulls the image ref (POST /images/create) and returns the
// daemon's JSON progress stream.
func (c *Client) PullImage(ctx context.Context, ref, tag, registryAuth string) (io.ReadCloser, error) {
	if err := c.ensureNegotiated(ctx); err != nil {
		return nil, err
	}
	q := url.Values{"fromImage": {ref}, "tag": {tag}}
	h := http.Header{}
	if registryAuth != "" {
		h.Set("X-Registry-Auth", registryAuth)
	}
	return c.postStream(ctx, "/images/create", q, nil, h)
}

// postJSON posts in (if not nil) as JSON and decodes the answer into out
// (if not nil).
func (c *Client) postJSON(ctx context.Context, p string, q url.Values, in, out any) error {
	if err := c.ensureNegotiated(ctx); err != nil {
		return err
	}
	var body io.Reader
	var h http.Header
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, h = bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}
	}
	resp, err := c.do(ctx, http.MethodPost, c.apiPath(p), q, body, h)
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := c.checkResponse(resp); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
