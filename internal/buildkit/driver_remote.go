package buildkit

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"google.golang.org/grpc"
)

// RemoteOptions are a remote node's driver options (buildx's remote
// driver: cacert, cert, key, servername, default-load).
type remoteTLS struct {
	serverName, caCert, cert, key string
}

// RemoteNode is a buildkitd reached at endpoint (tcp:// or unix://), as
// buildx's remote driver reaches it: mutual TLS from the driver options,
// and up to 20 s for a node that does not answer yet.
func RemoteNode(name, endpoint string, platforms []ocispecs.Platform, driverOpts map[string]string, flags []string, files map[string][]byte) (*Node, error) {
	if len(files) > 0 {
		return nil, errors.Errorf("setting config file is not supported for remote driver")
	}
	if len(flags) > 0 {
		return nil, errors.Errorf("setting buildkit flags is not supported for remote driver")
	}
	n := &Node{Name: name, Endpoint: endpoint, Platforms: platforms}
	var t remoteTLS
	useTLS := false
	for k, v := range driverOpts {
		switch k {
		case "servername":
			t.serverName, useTLS = v, true
		case "cacert", "cert", "key":
			if !filepath.IsAbs(v) {
				return nil, errors.Errorf("non-absolute path '%s' provided for %s", v, k)
			}
			useTLS = true
			switch k {
			case "cacert":
				t.caCert = v
			case "cert":
				t.cert = v
			default:
				t.key = v
			}
		case "default-load":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, err
			}
			n.DefaultLoad = b
		default:
			return nil, errors.Errorf("invalid driver option %s for remote driver", k)
		}
	}
	var tlsCfg *remoteTLS
	if useTLS {
		if t.serverName == "" {
			u, err := url.Parse(endpoint)
			if err != nil {
				return nil, err
			}
			t.serverName = u.Hostname()
		}
		var missing []string
		if t.caCert == "" {
			missing = append(missing, "cacert")
		}
		if t.cert != "" && t.key == "" {
			missing = append(missing, "key")
		}
		if t.key != "" && t.cert == "" {
			missing = append(missing, "cert")
		}
		if len(missing) > 0 {
			return nil, errors.Errorf("tls enabled, but missing keys %s", strings.Join(missing, ", "))
		}
		tlsCfg = &t
	}
	n.Dial = func(ctx context.Context) (*client.Client, error) {
		opts := append(n.keepaliveOpts(), client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return dialRemote(ctx, endpoint, tlsCfg)
		}))
		authority := ""
		if tlsCfg != nil {
			authority = tlsCfg.serverName
		} else if u, err := url.Parse(endpoint); err == nil {
			authority = u.Host
		}
		if authority != "" {
			opts = append(opts, client.WithGRPCDialOption(grpc.WithAuthority(authority)))
		}
		return client.New(ctx, endpoint, opts...)
	}
	n.waitReady = true
	n.diagnose = func(ctx context.Context) error {
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		conn, err := dialRemote(dctx, endpoint, tlsCfg)
		if err == nil {
			conn.Close()
		}
		return err
	}
	return n, nil
}

func dialRemote(ctx context.Context, endpoint string, t *remoteTLS) (net.Conn, error) {
	network, addr, ok := strings.Cut(endpoint, "://")
	if !ok {
		return nil, errors.Errorf("invalid endpoint address: %s", endpoint)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, errors.WithStack(err)
	}
	if t == nil {
		return conn, nil
	}
	cfg, err := t.config()
	if err != nil {
		conn.Close()
		return nil, errors.Wrap(err, "error loading tls config")
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, tlsError(endpoint, t, err)
	}
	if t.cert != "" {
		return tc, nil
	}
	// Without a client certificate, read the server's first bytes (gRPC
	// sends its settings at once): under TLS 1.3 a server that requires a
	// certificate says so only in an alert after the handshake, where gRPC
	// would report "write: broken pipe".
	br := bufio.NewReader(tc)
	tc.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = br.Peek(1)
	tc.SetReadDeadline(time.Time{})
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		conn.Close()
		return nil, tlsError(endpoint, t, err)
	}
	return &peekedConn{Conn: tc, r: br}, nil
}

// peekedConn replays what was read ahead.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (t *remoteTLS) config() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: t.serverName, RootCAs: x509.NewCertPool()}
	if t.caCert != "" {
		ca, err := os.ReadFile(t.caCert)
		if err != nil {
			return nil, errors.Wrap(err, "could not read ca certificate")
		}
		if !cfg.RootCAs.AppendCertsFromPEM(ca) {
			return nil, errors.New("failed to append ca certs")
		}
	}
	if t.cert != "" || t.key != "" {
		cert, err := tls.LoadX509KeyPair(t.cert, t.key)
		if err != nil {
			return nil, errors.Wrap(err, "could not read certificate/key")
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	return cfg, nil
}

// tlsError explains a failed handshake: most often the builder asks for a
// client certificate the builder's options do not give.
func tlsError(endpoint string, t *remoteTLS, err error) error {
	msg := err.Error()
	if t.cert == "" && (strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") || strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset")) {
		return &handshakeError{errors.Errorf("TLS handshake with %s failed (%v): the builder asks for a client certificate, and this builder has none: create it with --driver-opt cert=…,key=…", endpoint, err)}
	}
	return &handshakeError{errors.Wrapf(err, "TLS handshake with %s", endpoint)}
}

// handshakeError is a node that answers but whose TLS does not match the
// builder's: waiting for it would not help.
type handshakeError struct{ error }

func (e *handshakeError) Unwrap() error { return e.error }

// waitTimeout bounds the wait for a remote node that does not answer
// (buildx's bootstrap of a remote driver).
const waitTimeout = 20 * time.Second

// waitConnection is buildx's "[internal] waiting for connection" step, with
// an error that names the node when the time is up.
func (n *Node) waitConnection(ctx context.Context, c *client.Client, p *printer) error {
	if _, err := c.ListWorkers(ctx); err == nil {
		return nil
	}
	return p.vertex("[internal] waiting for connection", func(func(*client.VertexStatus)) error {
		var he *handshakeError
		if derr := n.diagnose(ctx); errors.As(derr, &he) {
			return fmt.Errorf("builder node %s at %s: %w", n.Name, n.Endpoint, derr)
		}
		wctx, cancel := context.WithTimeoutCause(ctx, waitTimeout, errors.WithStack(context.DeadlineExceeded))
		defer cancel()
		err := c.Wait(wctx)
		if err != nil && ctx.Err() == nil {
			// Why it does not answer, when a connection of our own can say.
			if derr := n.diagnose(ctx); derr != nil {
				err = derr
			}
			return fmt.Errorf("builder node %s at %s did not answer within %s: %w", n.Name, n.Endpoint, waitTimeout, err)
		}
		return err
	})
}
