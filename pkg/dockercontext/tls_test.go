package dockercontext

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

func TestTLSConfig(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	encryptedKey := pem.EncodeToMemory(&pem.Block{
		Type:    "EC PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,000102030405060708090A0B0C0D0E0F"},
		Bytes:   []byte("not really encrypted"),
	})
	junk := []byte("junk\n")
	tests := []struct {
		name     string
		ep       Endpoint
		wantNil  bool
		wantErr  string
		wantRoot bool
		wantCert bool
		wantSkip bool
	}{
		{name: "no host", ep: Endpoint{SkipTLSVerify: true, HasTLSData: true, CA: junk}, wantNil: true},
		{name: "unix socket ignores TLS data", ep: Endpoint{Host: "unix:///s.sock", HasTLSData: true, CA: junk}, wantNil: true},
		{name: "npipe", ep: Endpoint{Host: "npipe:////./pipe/x", SkipTLSVerify: true}, wantNil: true},
		{name: "fd", ep: Endpoint{Host: "fd://3", SkipTLSVerify: true}, wantNil: true},
		{name: "ssh", ep: Endpoint{Host: "ssh://h", HasTLSData: true, CA: junk}, wantNil: true},
		{name: "tcp without TLS", ep: Endpoint{Host: "tcp://h:1"}, wantNil: true},
		{name: "tcp skip verify", ep: Endpoint{Host: "tcp://h:1", SkipTLSVerify: true}, wantSkip: true},
		{name: "tcp empty TLS dir", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true}},
		{name: "tcp full", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true, CA: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey}, wantRoot: true, wantCert: true},
		{name: "cert without key is ignored", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true, Cert: pki.ClientCert}},
		{name: "invalid CA", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true, CA: junk}, wantErr: "failed to retrieve context tls info: ca.pem seems invalid"},
		{name: "empty CA file", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true, CA: []byte{}}, wantErr: "failed to retrieve context tls info: ca.pem seems invalid"},
		{name: "invalid key", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true, Cert: pki.ClientCert, Key: junk}, wantErr: "no valid private key found"},
		{name: "encrypted key", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true, Cert: pki.ClientCert, Key: encryptedKey}, wantErr: "private key is encrypted - support for encrypted private keys has been removed, see https://docs.docker.com/go/deprecated/"},
		{name: "certificate as key", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true, Cert: pki.ClientCert, Key: pki.CA}, wantErr: "failed to retrieve context tls info: tls: found a certificate rather than a key in the PEM for the private key"},
		{name: "key of another certificate", ep: Endpoint{Host: "tcp://h:1", HasTLSData: true, Cert: pki.ClientCert, Key: pki.CAKey}, wantErr: "failed to retrieve context tls info: tls: private key does not match public key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.ep.TLSConfig()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("TLSConfig() error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("TLSConfig() error = %v", err)
			}
			if tc.wantNil {
				if got != nil {
					t.Fatalf("TLSConfig() = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatal("TLSConfig() = nil, want a config")
			}
			if got.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %#x, want TLS 1.2", got.MinVersion)
			}
			if (got.RootCAs != nil) != tc.wantRoot {
				t.Errorf("RootCAs set = %v, want %v", got.RootCAs != nil, tc.wantRoot)
			}
			if (len(got.Certificates) == 1) != tc.wantCert {
				t.Errorf("%d certificates, want one: %v", len(got.Certificates), tc.wantCert)
			}
			if got.InsecureSkipVerify != tc.wantSkip {
				t.Errorf("InsecureSkipVerify = %v, want %v", got.InsecureSkipVerify, tc.wantSkip)
			}
		})
	}
}

// TestTLSConfigHandshake talks to a TLS server that requires a client
// certificate, with a context store entry written by hand.
func TestTLSConfigHandshake(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	serverCert, err := tls.X509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pki.CA)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "OK")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	defer srv.Close()

	cfg := filepath.Join(t.TempDir(), "cfg")
	storeEntry{
		meta: str(`{"Name":"tls","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://` + srv.Listener.Addr().String() + `","SkipTLSVerify":false}}}`),
		tls:  map[string][]byte{"docker/ca.pem": pki.CA, "docker/cert.pem": pki.ClientCert, "docker/key.pem": pki.ClientKey},
	}.write(t, cfg, "tls")
	ep, err := Resolve(Inputs{ConfigDir: cfg, ContextFlag: "tls", Env: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ep.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}
	resp, err := client.Get("https://" + srv.Listener.Addr().String() + "/_ping")
	if err != nil {
		t.Fatalf("GET /_ping: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "OK" {
		t.Errorf("body = %q, want OK", body)
	}
}

// TestTLSConfigErrorMatchesDocker: docker prints TLS material errors after
// "Failed to initialize: " only.
func TestTLSConfigErrorMatchesDocker(t *testing.T) {
	needDocker(t)
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "cfg")
	storeEntry{
		meta: str(`{"Name":"badca","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1","SkipTLSVerify":false}}}`),
		tls:  map[string][]byte{"docker/ca.pem": []byte("junk\n")},
	}.write(t, cfg, "badca")
	ep, err := Resolve(Inputs{ConfigDir: cfg, ContextFlag: "badca", Env: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ep.TLSConfig()
	if err == nil {
		t.Fatal("TLSConfig() succeeded, want an error")
	}
	stderr := dockerBuildStderr(t, dockerEnv(cfg), "--context", "badca")
	if want := InitPrefix + err.Error(); !hasLine(stderr, want) {
		t.Errorf("docker stderr lacks the line %q:\n%s", want, stderr)
	}
}
