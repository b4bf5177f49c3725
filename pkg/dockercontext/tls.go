package dockercontext

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/go-connections/tlsconfig"
)

// TLSConfig returns the client TLS configuration docker builds for a named
// context's endpoint, or nil when docker uses none: the host is empty, a
// socket (unix://, npipe://, fd://) or ssh://, or the store has neither TLS
// data nor SkipTLSVerify. A non-nil config means docker talks https to the
// tcp host. It is based on go-connections' tlsconfig.ClientDefault (TLS ≥ 1.2).
//
// Its errors are docker's, which docker prints as [InitPrefix] + err (no
// "unable to resolve docker endpoint"), e.g.
// "Failed to initialize: failed to retrieve context tls info: ca.pem seems invalid".
// For the default context the TLS flags decide instead; this returns nil.
func (e Endpoint) TLSConfig() (*tls.Config, error) {
	if e.Host == "" {
		return nil, nil
	}
	switch scheme, _, _ := strings.Cut(e.Host, "://"); scheme {
	case "unix", "npipe", "fd", "ssh":
		return nil, nil
	}
	if !e.HasTLSData && !e.SkipTLSVerify {
		return nil, nil
	}
	var opts []func(*tls.Config)
	if e.CA != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(e.CA) {
			return nil, errors.New("failed to retrieve context tls info: ca.pem seems invalid")
		}
		opts = append(opts, func(c *tls.Config) { c.RootCAs = pool })
	}
	if e.Key != nil && e.Cert != nil {
		block, _ := pem.Decode(e.Key)
		if block == nil {
			return nil, errors.New("no valid private key found")
		}
		if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck // docker rejects encrypted keys the same way
			return nil, errors.New("private key is encrypted - support for encrypted private keys has been removed, see https://docs.docker.com/go/deprecated/")
		}
		cert, err := tls.X509KeyPair(e.Cert, e.Key)
		if err != nil {
			return nil, fmt.Errorf("failed to retrieve context tls info: %w", err)
		}
		opts = append(opts, func(c *tls.Config) { c.Certificates = []tls.Certificate{cert} })
	}
	if e.SkipTLSVerify {
		opts = append(opts, func(c *tls.Config) { c.InsecureSkipVerify = true })
	}
	return tlsconfig.ClientDefault(opts...), nil
}
