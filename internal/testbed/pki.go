package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is a CA, a server certificate it signed for 127.0.0.1 and localhost,
// and a client certificate, all PEM (keys as EC PRIVATE KEY), valid for a
// day: the one test PKI of the suites.
type PKI struct {
	CA, CAKey             []byte
	ServerCert, ServerKey []byte
	ClientCert, ClientKey []byte
	// CACert is CA parsed, for a certificate pool.
	CACert *x509.Certificate
}

// NewPKI makes a PKI whose CA is named cn.
func NewPKI(cn string) (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	p := &PKI{CA: pemOf("CERTIFICATE", caDER)}
	if p.CACert, err = x509.ParseCertificate(caDER); err != nil {
		return nil, err
	}
	if p.CAKey, err = keyPEM(caKey); err != nil {
		return nil, err
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) (cert, key []byte, err error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
			DNSNames:     dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CACert, &k.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		kb, err := keyPEM(k)
		return pemOf("CERTIFICATE", der), kb, err
	}
	if p.ServerCert, p.ServerKey, err = leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"}); err != nil {
		return nil, err
	}
	if p.ClientCert, p.ClientKey, err = leaf(3, "client", x509.ExtKeyUsageClientAuth, nil, nil); err != nil {
		return nil, err
	}
	return p, nil
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	return pemOf("EC PRIVATE KEY", der), err
}

// TLS is a set of PEM files: a CA and the server and client certificates
// it signed.
type TLS struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// Write writes the PKI into dir: ca.pem, cert.pem and key.pem (the
// client's: the DOCKER_CERT_PATH layout), server-cert.pem, server-key.pem.
func (p *PKI) Write(dir string) (*TLS, error) {
	t := &TLS{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server-cert.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "cert.pem"), ClientKey: filepath.Join(dir, "key.pem"),
	}
	for path, b := range map[string][]byte{t.CA: p.CA, t.ServerCert: p.ServerCert, t.ServerKey: p.ServerKey, t.ClientCert: p.ClientCert, t.ClientKey: p.ClientKey} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// MakeTLS writes a new PKI into dir.
func MakeTLS(dir string) (*TLS, error) {
	p, err := NewPKI("mybuild test CA")
	if err != nil {
		return nil, err
	}
	return p.Write(dir)
}
