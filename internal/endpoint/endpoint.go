// Package endpoint decides which docker daemon a build talks to and how, as
// docker does: --context, -H, DOCKER_HOST, DOCKER_CONTEXT, config.json's
// currentContext, then the default socket; TLS from the --tls* flags or the
// context store; ssh:// and fd:// dialers; headers, API version and the
// bound on a daemon that stops answering.
package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mybuild/mybuild/internal/dockerlog"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
	"github.com/mybuild/mybuild/pkg/dockercontext"
	"github.com/mybuild/mybuild/pkg/engine"
)

// endpointError is docker's wrapping of anything that stops it from
// choosing a daemon.
func endpointError(err error) error {
	return fmt.Errorf("Failed to initialize: unable to resolve docker endpoint: %w", err)
}

// Options are docker's global flags that choose the daemon, and where the
// rest comes from.
type Options struct {
	Hosts     []string // -H
	Context   string   // --context
	ConfigDir string   // --config
	Debug     bool     // -D
	LogLevel  string
	TLS       bool
	TLSVerify bool
	TLSCACert string
	TLSCert   string
	TLSKey    string
	// The --tlsverify, --tlscert and --tlskey flags were given (their
	// defaults come from the environment).
	TLSVerifySet bool
	TLSCertSet   bool
	TLSKeySet    bool

	Getenv func(string) string
	// Stderr takes the endpoint's warnings and -D's request log.
	Stderr io.Writer
}

// ContextName is the docker context in use, "default" when -H, DOCKER_HOST
// or nothing names the daemon.
func ContextName(o Options, cfg *dockerconfig.Config) string {
	return dockercontext.ContextName(o.inputs(cfg))
}

func (o Options) inputs(cfg *dockerconfig.Config) dockercontext.Inputs {
	return dockercontext.Inputs{
		ConfigDir:      o.ConfigDir,
		ContextFlag:    o.Context,
		Hosts:          o.Hosts,
		Env:            o.Getenv,
		CurrentContext: cfg.CurrentContext(),
	}
}

// New returns a client of the daemon o names (see Resolve).
func New(o Options, cfg *dockerconfig.Config) (*engine.Client, error) {
	ec, err := Resolve(o, cfg)
	if err != nil {
		return nil, err
	}
	return engine.New(ec)
}

// Resolve decides which daemon to talk to and how, as docker does:
// --context, else -H, else DOCKER_HOST, else DOCKER_CONTEXT, else
// config.json's currentContext, else the default socket. The default context
// takes TLS from the --tls* flags and DOCKER_TLS*/DOCKER_CERT_PATH; a named
// one from the context store.
func Resolve(g Options, cfg *dockerconfig.Config) (engine.Config, error) {
	ep, err := dockercontext.Resolve(g.inputs(cfg))
	if err != nil {
		return engine.Config{}, errors.New(dockercontext.ResolveErrorMessage(err))
	}
	for _, w := range ep.Warnings {
		dockerlog.Warn(g.Stderr, w)
	}
	timeout, err := DaemonTimeout(g.Getenv("MYBUILD_TIMEOUT"))
	if err != nil {
		return engine.Config{}, err
	}
	ec := engine.Config{APIVersion: g.Getenv("DOCKER_API_VERSION"), Timeout: timeout}
	if lvl := strings.ToLower(g.LogLevel); g.Debug || lvl == "debug" || lvl == "trace" { // logrus levels ignore case
		ec.Debug = g.Stderr
	}
	if ec.Headers, err = customHeaders(g.Getenv("DOCKER_CUSTOM_HEADERS"), cfg.Headers()); err != nil {
		return engine.Config{}, err
	}
	if ep.ContextName == dockercontext.DefaultContextName {
		useTLS := g.TLS || g.TLSVerify || g.TLSVerifySet
		if ec.Host, err = engine.ParseHost(useTLS, ep.Host); err != nil {
			return engine.Config{}, endpointError(err)
		}
		if useTLS {
			if ec.TLS, err = defaultContextTLS(g, ec.Host); err != nil {
				return engine.Config{}, err
			}
		}
	} else {
		// A context's host is used as stored, without ParseHost.
		ec.Host = ep.Host
		if ec.TLS, err = ep.TLSConfig(); err != nil {
			return engine.Config{}, errors.New(dockercontext.InitPrefix + err.Error())
		}
	}
	if ec.Dialer, err = endpointDialer(ec.Host); err != nil {
		return engine.Config{}, errors.New(dockercontext.InitPrefix + err.Error())
	}
	return ec, nil
}

// endpointDialer connects the endpoints that are not a plain socket: ssh://
// through `ssh … docker system dial-stdio`, and fd://N through a connected
// socket the caller passed as file descriptor N.
func endpointDialer(host string) (func(context.Context) (net.Conn, error), error) {
	switch {
	case strings.HasPrefix(host, "ssh://"):
		return dockercontext.SSHDialer(context.Background(), host)
	case strings.HasPrefix(host, "fd://"):
		return fdDialer(strings.TrimPrefix(host, "fd://"))
	}
	return nil, nil
}

// fdDialer serves the one connection an inherited socket gives: docker's
// client cannot use fd:// at all (it dials a host named after the number).
func fdDialer(num string) (func(context.Context) (net.Conn, error), error) {
	n, err := strconv.Atoi(num)
	if err != nil || n < 3 {
		return nil, fmt.Errorf("invalid fd:// host %q: want fd://N, N an inherited socket descriptor of 3 or more", "fd://"+num)
	}
	f := os.NewFile(uintptr(n), "fd://"+num)
	conn, err := net.FileConn(f)
	f.Close()
	if errors.Is(err, syscall.EBADF) {
		return nil, fmt.Errorf("fd://%d: not an open file descriptor", n)
	}
	if err != nil {
		return nil, fmt.Errorf("fd://%d is not a connected socket: %w", n, err)
	}
	var mu sync.Mutex
	used := false
	return func(context.Context) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if used {
			return nil, fmt.Errorf("fd://%d: the connection was closed and cannot be opened again", n)
		}
		used = true
		return conn, nil
	}, nil
}

// defaultContextTLS is docker's TLS for the default context with --tls or
// --tlsverify: the CA, certificate and key files are read first, whatever
// the host (a missing one fails, also for a unix socket; the default
// certificate and key are dropped when absent), then used as a named
// context's TLS data would be: only a tcp host gets a configuration, and
// --tls without --tlsverify skips verification.
func defaultContextTLS(g Options, host string) (*tls.Config, error) {
	certFile, keyFile := g.TLSCert, g.TLSKey
	if !g.TLSCertSet && !exists(certFile) {
		certFile = ""
	}
	if !g.TLSKeySet && !exists(keyFile) {
		keyFile = ""
	}
	ep := dockercontext.Endpoint{Host: host, SkipTLSVerify: !g.TLSVerify}
	for _, f := range []struct {
		path string
		data *[]byte
	}{{g.TLSCACert, &ep.CA}, {certFile, &ep.Cert}, {keyFile, &ep.Key}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, endpointError(err)
		}
		*f.data = b
	}
	ep.HasTLSData = ep.CA != nil || ep.Cert != nil || ep.Key != nil
	c, err := ep.TLSConfig()
	if err != nil {
		return nil, errors.New(dockercontext.InitPrefix + err.Error())
	}
	return c, nil
}

// DefaultTimeout bounds the wait on a daemon that accepted the connection
// but stopped answering (docker waits forever).
const DefaultTimeout = 30 * time.Second

// DaemonTimeout reads MYBUILD_TIMEOUT: a Go duration ("90s", "2m") or
// seconds; 0 waits forever.
func DaemonTimeout(v string) (time.Duration, error) {
	if v == "" {
		return DefaultTimeout, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid MYBUILD_TIMEOUT %q: want a duration such as 30s or a number of seconds", v)
	}
	return d, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// customHeaders: DOCKER_CUSTOM_HEADERS (k=v,k2=v2) replaces config.json's
// HttpHeaders rather than merging with them.
func customHeaders(env string, fromConfig map[string]string) (map[string]string, error) {
	if env == "" {
		return fromConfig, nil
	}
	h := map[string]string{}
	for _, kv := range strings.Split(env, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("failed to set custom headers from DOCKER_CUSTOM_HEADERS environment variable: value is not in the key=value format: %q", kv)
		}
		h[k] = v
	}
	return h, nil
}
