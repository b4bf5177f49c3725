package engine

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// DefaultVersion is the newest API version this client speaks; negotiation
// never goes above it. It matches docker CLI 28.2.2.
const DefaultVersion = "1.50"

// UserAgent is sent with every request. It is docker CLI 28.2.2's, so that
// daemons, proxies and authorization plugins see the client they expect.
const UserAgent = "Docker-Client/28.2.2 (linux)"

// dummyHost is the Host header for socket and pipe connections, sshHost
// for ssh:// (it shows in docker's errors: Post "http://docker.example.com/…").
const (
	dummyHost = "api.moby.localhost"
	sshHost   = "docker.example.com"
)

// Config says how to reach a daemon.
type Config struct {
	// Host is a daemon address as returned by ParseHost.
	Host string
	// TLS, when set, makes tcp connections use TLS.
	TLS *tls.Config
	// APIVersion pins the API version (DOCKER_API_VERSION); empty negotiates.
	APIVersion string
	// Headers are added to every request (config.json HttpHeaders).
	Headers map[string]string
	// DialTimeout bounds connection set-up; zero means 10 s as docker.
	DialTimeout time.Duration
	// Timeout bounds each wait on a daemon that has stopped answering: the
	// ping before a request, the response headers once a request is sent,
	// and a stalled upload. Zero waits forever, as docker does.
	Timeout time.Duration
	// Debug, when set, receives a line per request and response, with
	// credentials redacted.
	Debug io.Writer
	// Dialer, when set, replaces the network dial (ssh and fd endpoints).
	Dialer func(ctx context.Context) (net.Conn, error)
}

// Client talks to one daemon.
type Client struct {
	host       string
	proto      string
	addr       string
	basePath   string
	scheme     string
	hc         *http.Client
	headers    map[string]string
	version    string
	pinned     bool
	negotiated bool
	timeout    time.Duration
	// dial opens a raw connection to the daemon (TLS included) for the
	// requests that take the connection over (Hijack, Dial).
	dial func(ctx context.Context) (net.Conn, error)
	// unanswered is the time spent on pings the daemon let run out: all
	// pings share the one timeout, so the wait matches what is reported.
	unanswered time.Duration
	// tlsAlert is the TLS alert a ping got from the daemon (e.g. "certificate
	// required"): the build request may fail later in its upload, with a
	// write error that hides it.
	tlsAlert error
}

// New returns a client for cfg.Host. It does not connect.
func New(cfg Config) (*Client, error) {
	host := cfg.Host
	if host == "" {
		host = DefaultHost
	}
	proto, addr, ok := strings.Cut(host, "://")
	if !ok {
		return nil, fmt.Errorf("unable to parse docker host `%s`", host)
	}
	c := &Client{
		host:    host,
		proto:   proto,
		addr:    addr,
		scheme:  "http",
		headers: cfg.Headers,
		version: DefaultVersion,
		timeout: cfg.Timeout,
	}
	if v := strings.TrimPrefix(cfg.APIVersion, "v"); v != "" {
		c.version, c.pinned = v, true
	}
	dialTimeout := cfg.DialTimeout
	if dialTimeout == 0 {
		dialTimeout = 10 * time.Second
	}
	tr := &http.Transport{
		MaxIdleConns:          6,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	dialer := &net.Dialer{Timeout: dialTimeout}
	switch proto {
	case "tcp":
		if u, err := url.Parse("tcp://" + addr); err == nil && u.Path != "" {
			c.addr, c.basePath = u.Host, u.Path
		}
		// The address given is the daemon's, or a proxy's (HTTP_PROXY
		// applies to tcp endpoints, as for docker).
		tr.Proxy = http.ProxyFromEnvironment
		tr.DialContext = dialer.DialContext
		if cfg.TLS != nil {
			tr.TLSClientConfig = cfg.TLS
			c.scheme = "https"
		}
	case "unix":
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", addr)
		}
		// docker's socket transport asks for no compressed responses.
		tr.DisableCompression = true
	case "npipe":
		if cfg.Dialer == nil {
			cfg.Dialer = pipeDialer(addr, dialTimeout)
		}
		if cfg.Dialer == nil {
			return nil, fmt.Errorf("protocol %q is not supported on this platform", proto)
		}
		tr.DisableCompression = true
	case "ssh", "fd":
		if cfg.Dialer == nil {
			return nil, fmt.Errorf("protocol %q is not supported on this platform", proto)
		}
	default:
		return nil, fmt.Errorf("protocol not available")
	}
	if cfg.Dialer != nil {
		d := cfg.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) { return d(ctx) }
		tr.Proxy = nil
	}
	c.dial = rawDialer(proto, c.addr, dialer, cfg)
	var rt http.RoundTripper = tr
	if cfg.Debug != nil {
		rt = &debugTransport{next: tr, w: cfg.Debug}
	}
	c.hc = &http.Client{
		Transport: rt,
		// Docker follows no redirect: GET gets the 3xx, others an error.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.Method == http.MethodGet {
				return http.ErrUseLastResponse
			}
			return errors.New("unexpected redirect in response")
		},
	}
	return c, nil
}

// Host returns the daemon address, e.g. "tcp://127.0.0.1:2375"; it is the
// key config.json "proxies" are looked up by.
func (c *Client) Host() string { return c.host }

// TLS reports whether requests are encrypted.
func (c *Client) TLS() bool { return c.scheme == "https" }

// Version returns the API version requests are sent with.
func (c *Client) Version() string { return c.version }

// Ping is what the daemon says about itself in /_ping.
type Ping struct {
	APIVersion     string
	OSType         string
	Experimental   bool
	BuilderVersion string
	// Podman is set by Podman's Docker-compatible API (Libpod-Api-Version).
	Podman bool
}

// Ping sends HEAD /_ping, falling back to GET as docker does. With a
// timeout, the pings of a client that go unanswered wait for it in all: a
// ping that spends what is left returns a *TimeoutError.
func (c *Client) Ping(ctx context.Context) (Ping, error) {
	if c.timeout <= 0 {
		return c.ping(ctx)
	}
	left := c.timeout - c.unanswered
	if left <= 0 {
		return Ping{}, c.pingTimeout()
	}
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	p, err := c.ping(pctx)
	// A deadline, ours or the caller's, means the daemon did not answer.
	if err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		if c.unanswered += time.Since(start); c.unanswered >= c.timeout {
			return p, c.pingTimeout()
		}
	}
	return p, err
}

func (c *Client) pingTimeout() error {
	return &TimeoutError{Host: c.host, What: "answer /_ping", After: c.timeout}
}

func (c *Client) ping(ctx context.Context) (Ping, error) {
	p := path.Join("/", c.basePath, "/_ping")
	resp, err := c.do(ctx, http.MethodHead, p, nil, nil, nil)
	c.noteTLSAlert(err)
	if err != nil {
		var cf *ConnectionError
		if errors.As(err, &cf) || ctx.Err() != nil {
			return Ping{}, err
		}
	} else {
		drain(resp)
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusInternalServerError {
			return c.parsePing(resp)
		}
	}
	resp, err = c.do(ctx, http.MethodGet, p, nil, nil, nil)
	c.noteTLSAlert(err)
	if err != nil {
		return Ping{}, err
	}
	defer drain(resp)
	if err := c.checkResponse(resp); err != nil {
		return c.pingHeaders(resp), err
	}
	return c.pingHeaders(resp), nil
}

// noteTLSAlert keeps the TLS alert err carries, if any.
func (c *Client) noteTLSAlert(err error) {
	var op *net.OpError
	if c.scheme == "https" && errors.As(err, &op) && op.Op == "remote error" {
		c.tlsAlert = op
	}
}

// withTLSAlert reports a request's transport failure with the TLS alert a
// ping got, when there was one: it is why the connection broke.
func (c *Client) withTLSAlert(err error) error {
	var te *TransportError
	var ue *url.Error
	if c.tlsAlert == nil || !errors.As(err, &te) || !errors.As(te.Err, &ue) {
		return err
	}
	return &TransportError{Err: &url.Error{Op: ue.Op, URL: ue.URL, Err: c.tlsAlert}}
}

func (c *Client) parsePing(resp *http.Response) (Ping, error) {
	return c.pingHeaders(resp), c.checkResponse(resp)
}

func (c *Client) pingHeaders(resp *http.Response) Ping {
	return Ping{
		APIVersion:     resp.Header.Get("Api-Version"),
		OSType:         resp.Header.Get("Ostype"),
		Experimental:   resp.Header.Get("Docker-Experimental") == "true",
		BuilderVersion: resp.Header.Get("Builder-Version"),
		Podman:         resp.Header.Get("Libpod-Api-Version") != "",
	}
}

// Negotiate picks min(DefaultVersion, the daemon's version); a daemon that
// names none is taken to speak 1.24. A pinned version is left alone.
func (c *Client) Negotiate(p Ping) {
	if c.pinned {
		return
	}
	v := p.APIVersion
	if v == "" {
		v = "1.24"
	}
	if VersionLess(v, DefaultVersion) {
		c.version = v
	} else {
		c.version = DefaultVersion
	}
	c.negotiated = true
}

// ensureNegotiated pings once more before a request when the start-up ping
// did not settle the version (docker's checkVersion). Its failure is left
// to the request to report, except a daemon that accepts the connection
// but does not answer within the timeout: docker hangs there forever.
func (c *Client) ensureNegotiated(ctx context.Context) error {
	if c.pinned || c.negotiated {
		return nil
	}
	p, err := c.Ping(ctx)
	if err == nil {
		c.Negotiate(p)
		return nil
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return err
	}
	return nil
}

// VersionError reports a feature the negotiated API version lacks.
func (c *Client) VersionError(minVersion, feature string) error {
	if VersionLess(c.version, minVersion) {
		return fmt.Errorf("%q requires API version %s, but the Docker daemon API version is %s", feature, minVersion, c.version)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, p string, query url.Values, body io.Reader, headers http.Header) (*http.Response, error) {
	u := &url.URL{Scheme: c.scheme, Host: c.addr, Path: p, RawQuery: query.Encode()}
	switch c.proto {
	case "tcp":
	case "ssh":
		u.Host = sshHost
	default:
		u.Host = dummyHost
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.proto == "unix" || c.proto == "npipe" {
		// As docker's client: the URL names the socket, so that errors
		// read "Post \"http://%2Fvar%2Frun%2Fdocker.sock/v1.41/build…",
		// and the Host header is the dummy host.
		req.URL.Host, req.Host = c.addr, dummyHost
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", UserAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.connectError(ctx, err)
	}
	return resp, nil
}

// connectError turns a transport error into docker's wording.
func (c *Client) connectError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	msg := err.Error()
	if strings.Contains(msg, "timeout awaiting response headers") {
		return &TimeoutError{Host: c.host, What: "answer the request", After: c.timeout}
	}
	if c.scheme != "https" && strings.Contains(msg, "malformed HTTP response") {
		return &ConnectionError{Host: c.host, Err: fmt.Errorf("%v.\n* Are you trying to connect to a TLS-enabled daemon without TLS?", err)}
	}
	if c.scheme == "https" && strings.Contains(msg, "bad certificate") {
		return &ConnectionError{Host: c.host, Err: fmt.Errorf("the server probably has client authentication (--tlsverify) enabled; check your TLS client certification settings: %w", err)}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && os.IsPermission(opErr.Err) {
		return &ConnectionError{Host: c.host, Err: fmt.Errorf("permission denied while trying to connect to the Docker daemon socket at %v: %w", c.host, err), Cause: err}
	}
	var nErr net.Error
	if errors.As(err, &nErr) {
		if nErr.Timeout() || strings.Contains(msg, "connection refused") || strings.Contains(msg, "dial unix") {
			return &ConnectionError{Host: c.host, Cause: err}
		}
	}
	return &TransportError{Err: err}
}

// postStream posts to p and returns the body of a successful answer (a
// JSON message stream: pull, push, load); an error status is docker's
// message.
func (c *Client) postStream(ctx context.Context, p string, query url.Values, body io.Reader, headers http.Header) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodPost, c.apiPath(p), query, body, headers)
	if err != nil {
		return nil, err
	}
	if err := c.checkResponse(resp); err != nil {
		drain(resp)
		return nil, err
	}
	return resp.Body, nil
}

// checkResponse turns an error status into docker's message (its client's
// checkResponseErr): the JSON "message" when the body is JSON, whatever
// the API version, else the body's text.
func (c *Client) checkResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return nil
	}
	status := resp.Status
	if status == "" {
		status = http.StatusText(resp.StatusCode)
	}
	const bodyMax = 1 << 20
	lr := &io.LimitedReader{R: resp.Body, N: bodyMax}
	body, err := io.ReadAll(lr)
	bare := func(msg string) error { return &APIError{StatusCode: resp.StatusCode, Bare: true, Message: msg} }
	switch {
	case err != nil:
		return bare(err.Error())
	case lr.N == 0:
		return bare(fmt.Sprintf("request returned %s with a message (> %d bytes) for API route and version %s, check if the server supports the requested API version",
			status, bodyMax, resp.Request.URL))
	case len(body) == 0:
		return bare(fmt.Sprintf("request returned %s for API route and version %s, check if the server supports the requested API version",
			status, resp.Request.URL))
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		return &APIError{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(body))}
	}
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return bare("Error reading JSON: " + err.Error())
	}
	if e.Message == "" {
		return &APIError{StatusCode: resp.StatusCode, Message: fmt.Sprintf("API returned a %d (%s) but provided no error-message",
			resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	return &APIError{StatusCode: resp.StatusCode, Message: strings.TrimSpace(e.Message)}
}

func drain(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 512<<10))
		_ = resp.Body.Close()
	}
}

// VersionLess reports whether API version a is older than b ("1.9" <
// "1.41"), as docker's versions.LessThan: non-numeric parts count as 0.
func VersionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
