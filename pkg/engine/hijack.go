package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	pathpkg "path"
	"strings"
	"time"
)

// rawDialer connects to the daemon the way docker's client does for a
// hijacked request: straight to the address (no HTTP proxy), with TLS when
// the endpoint has it.
func rawDialer(proto, addr string, d *net.Dialer, cfg Config) func(context.Context) (net.Conn, error) {
	if cfg.Dialer != nil {
		return cfg.Dialer
	}
	return func(ctx context.Context) (net.Conn, error) {
		network := proto
		if proto == "npipe" {
			return nil, fmt.Errorf("protocol %q cannot be hijacked", proto)
		}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if cfg.TLS == nil || proto != "tcp" {
			return conn, nil
		}
		tc := cfg.TLS.Clone()
		if tc.ServerName == "" {
			host, _, _ := net.SplitHostPort(addr)
			tc.ServerName = host
		}
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tconn, nil
	}
}

// Dial opens a raw connection to the daemon: the transport of a client that
// speaks HTTP/2 (gRPC) to the API socket itself.
func (c *Client) Dial(ctx context.Context) (net.Conn, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, c.connectError(ctx, err)
	}
	return conn, nil
}

// Hijack sends POST path with an Upgrade: proto request and returns the
// connection once the daemon switched protocols, as docker's DialHijack
// does for /grpc and /session. meta becomes request headers.
func (c *Client) Hijack(ctx context.Context, p, proto string, meta map[string][]string) (net.Conn, error) {
	// As docker's DialHijack: the path is not versioned.
	return c.hijack(ctx, pathpkg.Join("/", c.basePath, p), proto, nil, meta)
}

// hijack posts body (JSON, if any) to the path p and takes the connection
// over once the daemon switched to proto.
func (c *Client) hijack(ctx context.Context, p, proto string, body []byte, meta map[string][]string) (net.Conn, error) {
	host := c.addr
	if c.proto != "tcp" {
		host = dummyHost
	}
	u := &url.URL{Scheme: c.scheme, Host: host, Path: p}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch c.proto {
	case "tcp":
	case "ssh":
		req.Host = sshHost
	default:
		req.Host = dummyHost
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for k, v := range meta {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", proto)

	conn, err := c.dial(ctx)
	if err != nil {
		return nil, c.connectError(ctx, err)
	}
	// The request and the answer's headers are bounded by the context and
	// the daemon timeout; the connection is then the caller's.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	if c.timeout > 0 {
		conn.SetDeadline(time.Now().Add(c.timeout))
	}
	hc, err := c.upgrade(conn, req)
	if !stop() && err == nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return hc, nil
}

func (c *Client) upgrade(conn net.Conn, req *http.Request) (net.Conn, error) {
	if err := req.Write(conn); err != nil {
		return nil, &TransportError{Err: &url.Error{Op: "Post", URL: req.URL.String(), Err: err}}
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, &TransportError{Err: &url.Error{Op: "Post", URL: req.URL.String(), Err: err}}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		if err := c.checkResponse(resp); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("unable to upgrade to %s, received %d", req.Header.Get("Upgrade"), resp.StatusCode)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), req.Header.Get("Upgrade")) {
		return nil, fmt.Errorf("unable to upgrade to %s, received %q", req.Header.Get("Upgrade"), resp.Header.Get("Upgrade"))
	}
	if br.Buffered() == 0 {
		return conn, nil
	}
	// Bytes the daemon sent right after its answer belong to the new protocol.
	return &bufferedConn{Conn: conn, r: br}, nil
}

type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// CloseWrite half-closes the connection where the transport allows it (the
// gRPC session relies on it to end a stream cleanly).
func (b *bufferedConn) CloseWrite() error {
	if cw, ok := b.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
