package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-connections/tlsconfig"

	"github.com/mybuild/mybuild/pkg/auth"
	"github.com/mybuild/mybuild/pkg/engine"
)

// endpointError is docker's wrapping of anything that stops it from
// choosing a daemon.
func endpointError(err error) error {
	return fmt.Errorf("Failed to initialize: unable to resolve docker endpoint: %w", err)
}

// engineConfig decides which daemon to talk to and how, as docker does:
// -H, then DOCKER_HOST, then the default socket; TLS from the --tls*
// flags and DOCKER_TLS*/DOCKER_CERT_PATH.
func engineConfig(o *BuildOptions, cfg *auth.Config) (engine.Config, error) {
	g := o.Global
	if len(g.Hosts) > 1 {
		return engine.Config{}, endpointError(errors.New("Specify only one -H"))
	}
	if g.Context != "" && len(g.Hosts) > 0 {
		return engine.Config{}, errors.New("conflicting options: cannot specify both --host and --context")
	}
	host := o.Getenv("DOCKER_HOST")
	if len(g.Hosts) == 1 {
		host = g.Hosts[0]
	}
	useTLS := g.TLS || g.TLSVerify || g.tlsVerifySet
	host, err := engine.ParseHost(useTLS, host)
	if err != nil {
		return engine.Config{}, endpointError(err)
	}
	timeout, err := daemonTimeout(o.Getenv("MYBUILD_TIMEOUT"))
	if err != nil {
		return engine.Config{}, err
	}
	ec := engine.Config{Host: host, APIVersion: o.Getenv("DOCKER_API_VERSION"), Timeout: timeout}
	if g.Debug || g.LogLevel == "debug" || g.LogLevel == "trace" {
		ec.Debug = o.IO.ErrOut
	}
	if useTLS && strings.HasPrefix(host, "tcp://") {
		if ec.TLS, err = clientTLS(g); err != nil {
			return engine.Config{}, endpointError(err)
		}
	}
	if ec.Headers, err = customHeaders(o.Getenv("DOCKER_CUSTOM_HEADERS"), cfg.Headers()); err != nil {
		return engine.Config{}, err
	}
	return ec, nil
}

// clientTLS builds the TLS client configuration: the CA must exist, the
// default certificate and key are dropped when absent, and --tls without
// --tlsverify skips verification.
func clientTLS(g GlobalOptions) (*tls.Config, error) {
	certFile, keyFile := g.TLSCert, g.TLSKey
	if !g.tlsCertSet && !exists(certFile) {
		certFile = ""
	}
	if !g.tlsKeySet && !exists(keyFile) {
		keyFile = ""
	}
	c := tlsconfig.ClientDefault()
	c.InsecureSkipVerify = !g.TLSVerify
	if g.TLSCACert != "" {
		ca, err := os.ReadFile(g.TLSCACert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("failed to append certificates from PEM file: %q", g.TLSCACert)
		}
		c.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		certPEM, err := os.ReadFile(certFile)
		if err != nil {
			return nil, err
		}
		keyPEM, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, err
		}
		if b, _ := pem.Decode(keyPEM); b != nil && x509.IsEncryptedPEMBlock(b) { //nolint:staticcheck // rejecting, not decrypting
			return nil, errors.New("private key is encrypted, but could not decrypt it: encrypted private keys are not supported")
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("could not load X509 key pair: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// defaultTimeout bounds the wait on a daemon that accepted the connection
// but stopped answering (docker waits forever).
const defaultTimeout = 30 * time.Second

// daemonTimeout reads MYBUILD_TIMEOUT: a Go duration ("90s", "2m") or
// seconds; 0 waits forever.
func daemonTimeout(v string) (time.Duration, error) {
	if v == "" {
		return defaultTimeout, nil
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
