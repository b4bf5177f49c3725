package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/testbed"
)

// TLS against the real daemon: the test makes a CA, a server certificate for 127.0.0.1 and a
// client certificate, and serves the daemon's unix socket through an in-process TLS proxy on
// loopback that requires and verifies client certificates (as `dockerd --tlsverify` does).
// mybuild and the reference docker CLI then connect to the proxy with the --tls* flags, with
// DOCKER_TLS_VERIFY/DOCKER_CERT_PATH and with a context made by `docker context create`.

func writePrivate(t tb, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsProxy forwards TLS connections from verified clients to the daemon's unix socket.
type tlsProxy struct {
	addr string // 127.0.0.1:port
	// verified counts the connections whose client presented a certificate the CA signed;
	// rejected those whose handshake failed.
	verified, rejected atomic.Int64

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// startTLSProxy listens on a loopback port with pki's server certificate and requires client
// certificates signed by its CA, speaking TLS 1.2 up to maxVersion (0: Go's newest, 1.3, as
// dockerd); it stops when the test ends.
func startTLSProxy(t tb, pki *testbed.PKI, maxVersion uint16) *tlsProxy {
	t.Helper()
	cert, err := tls.X509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(pki.CACert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   maxVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsProxy{addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.stop)
	return p
}

func (p *tlsProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.forward(c.(*tls.Conn))
		}()
	}
}

func (p *tlsProxy) forward(c *tls.Conn) {
	defer c.Close()
	hctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.HandshakeContext(hctx); err != nil {
		p.rejected.Add(1)
		return
	}
	if len(c.ConnectionState().VerifiedChains) == 0 {
		p.rejected.Add(1) // cannot happen with RequireAndVerifyClientCert
		return
	}
	p.verified.Add(1)
	d, err := net.Dial("unix", sock)
	if err != nil {
		return
	}
	if !p.track(d) {
		d.Close()
		return
	}
	defer p.untrack(d)
	defer d.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(d, c); _ = d.(*net.UnixConn).CloseWrite(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, d); _ = c.CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

// track registers a connection for stop; false once the proxy is stopping.
func (p *tlsProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tlsProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *tlsProxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// tlsCerts is the material shared by the TLS tests; each test serves it with its own proxy.
type tlsCerts struct {
	pki *testbed.PKI
	// dir holds ca.pem, cert.pem and key.pem (the DOCKER_CERT_PATH layout); wrongCA is the
	// certificate of another CA, which did not sign the server's certificate.
	dir, wrongCA string
}

func (c tlsCerts) file(name string) string { return filepath.Join(c.dir, name) }

// flags are the global flags for host with TLS verified against ca and the client's
// certificate and key named explicitly.
func (c tlsCerts) flags(ca, host string) []string {
	return []string{"--tlsverify", "--tlscacert", ca, "--tlscert", c.file("cert.pem"), "--tlskey", c.file("key.pem"), "-H", host}
}

// serve starts a proxy for these certificates (see startTLSProxy).
func (c tlsCerts) serve(t tb, maxVersion uint16) *tlsProxy {
	t.Helper()
	return startTLSProxy(t, c.pki, maxVersion)
}

func (p *tlsProxy) host() string { return "tcp://" + p.addr }

func newTLSCerts(t tb) tlsCerts {
	t.Helper()
	dir := t.TempDir()
	c := tlsCerts{dir: filepath.Join(dir, "certs"), wrongCA: filepath.Join(dir, "other-ca.pem")}
	if err := os.Mkdir(c.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	if c.pki, err = testbed.NewPKI("mybuild e2e CA"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.pki.Write(c.dir); err != nil {
		t.Fatal(err)
	}
	other, err := testbed.NewPKI("mybuild e2e other CA")
	if err != nil {
		t.Fatal(err)
	}
	writePrivate(t, c.wrongCA, other.CA)
	return c
}

// bothClients runs the same build with docker (global flags before "build") and mybuild,
// in dir with env added, and returns both results with docker's banner and its tar noise
// (logrus lines of the tar goroutine a failed connection leaves behind) removed.
func bothClients(t tb, dir string, global, buildArgs, env []string) (d, m result) {
	t.Helper()
	d = run(t, cmdSpec{Bin: referenceDocker, Args: append(append(append([]string{}, global...), "build"), buildArgs...), Dir: dir, Env: env})
	registerOutput(t, d)
	m = run(t, cmdSpec{Bin: mybuildBin, Args: append(append([]string{}, global...), buildArgs...), Dir: dir, Env: env})
	registerOutput(t, m)
	d.Stderr = tarNoise.ReplaceAllString(stripBanner(d.Stderr), "")
	return d, m
}

// wantSameFailure checks that both clients failed with exit 1 and one message on stderr (one
// line, but for the empty lines an ssh error that ends in a newline gets after it, as in
// docker's), the same once replace's keys are replaced by its values.
func wantSameFailure(t tb, d, m result, replace ...string) {
	t.Helper()
	r := strings.NewReplacer(replace...)
	if d.Code != 1 || m.Code != 1 {
		t.Errorf("exit codes: docker %d, mybuild %d; want 1 and 1", d.Code, m.Code)
	}
	if msg := strings.TrimRight(m.Stderr, "\n"); msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("mybuild's stderr is not one line:\n%s", m.Stderr)
	}
	if m.Stdout != "" && !strings.HasPrefix(m.Stdout, "Sending build context") {
		t.Errorf("mybuild's stdout = %q", m.Stdout)
	}
	if diff := cmp.Diff(r.Replace(d.Stderr), r.Replace(m.Stderr)); diff != "" {
		t.Errorf("stderr differs (-docker +mybuild):\n%s", diff)
	}
	if t.Failed() {
		t.Logf("docker: %s\n\nmybuild: %s", d, m)
		return
	}
	t.Logf("both say: %s", m.Stderr)
}

var builtID = regexp.MustCompile(`(?m)^Successfully built ([0-9a-f]{12})$`)

// wantBuilt checks that a build succeeded quietly on stderr and that the image it says it
// built is the one the daemon now has under img.
func wantBuilt(t tb, r result, img string) {
	t.Helper()
	m := builtID.FindStringSubmatch(r.Stdout)
	if r.Code != 0 || r.Stderr != "" || m == nil || !strings.Contains(r.Stdout, "Successfully tagged "+img+"\n") {
		t.Fatalf("the build failed: %s", r)
	}
	if id := imageID(t, img); !strings.HasPrefix(id, "sha256:"+m[1]) {
		t.Errorf("the build says it made %s, but %s is %s", m[1], img, id)
	}
}

// buildBoth builds a RUN step with mybuild (global flags and env added), checks the image and
// calls check (to see that mybuild went the intended way), then has docker build the same
// (from the cache) with the same flags and environment, and compares the exit codes.
func buildBoth(t tb, env, global []string, check func()) {
	t.Helper()
	dir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN echo built")})
	img := tag(t)
	m := run(t, cmdSpec{Bin: mybuildBin, Args: append(append([]string{}, global...), "-t", img, "."), Dir: dir, Env: env})
	registerOutput(t, m)
	wantBuilt(t, m, img)
	check()
	d := run(t, cmdSpec{Bin: referenceDocker, Args: append(append([]string{}, global...), "build", "-q", "-t", tag(t), "."), Dir: dir, Env: env})
	if d.Code != m.Code {
		t.Errorf("exit codes: docker %d, mybuild %d\ndocker: %s", d.Code, m.Code, d)
	}
}

// buildInContext is buildBoth with `--context name`, a context made for endpoint (the value
// of --docker) by `docker context create` in a DOCKER_CONFIG of its own.
func buildInContext(t tb, env []string, name, endpoint string, check func()) {
	t.Helper()
	env = append(append([]string{}, env...), "DOCKER_CONFIG="+t.TempDir())
	if c := run(t, cmdSpec{Bin: referenceDocker, Env: env, Args: []string{"context", "create", name, "--docker", endpoint}}); c.Code != 0 {
		t.Fatalf("docker context create: %s", c)
	}
	buildBoth(t, env, []string{"--context", name}, check)
}

func TestTLS(t *testing.T) {
	needDaemon(t)
	needReference(t)
	c := newTLSCerts(t)

	// wantVia checks that a client connected through p with its certificate.
	wantVia := func(t *testing.T, p *tlsProxy) func() {
		return func() {
			if p.verified.Load() == 0 {
				t.Errorf("the TLS proxy saw no verified client connection: mybuild did not go through it")
			}
		}
	}

	t.Run("flags", func(t *testing.T) {
		t.Parallel()
		p := c.serve(t, 0)
		buildBoth(t, nil, c.flags(c.file("ca.pem"), p.host()), wantVia(t, p))
	})

	t.Run("DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_HOST", func(t *testing.T) {
		t.Parallel()
		p := c.serve(t, 0)
		buildBoth(t, []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + c.dir, "DOCKER_HOST=" + p.host()}, nil, wantVia(t, p))
	})

	// The failures happen at the connection: no build reaches the daemon.
	ctxDir := writeContext(t, map[string]string{"Dockerfile": dockerfile("RUN exit 9")})
	build := []string{"-t", "mybuild-e2e/never:tls", "."}

	t.Run("wrong CA", func(t *testing.T) {
		t.Parallel()
		p := c.serve(t, 0)
		d, m := bothClients(t, ctxDir, c.flags(c.wrongCA, p.host()), build, nil)
		wantSameFailure(t, d, m, p.addr, "<ADDR>")
		if !strings.Contains(m.Stderr, "tls: failed to verify certificate: x509: certificate signed by unknown authority") {
			t.Errorf("mybuild's error does not say why: %q", m.Stderr)
		}
		if n := p.verified.Load(); n != 0 || p.rejected.Load() == 0 {
			t.Errorf("the proxy completed %d handshakes and rejected %d; want none and some", n, p.rejected.Load())
		}
	})

	// A TLS 1.3 server rejects a client without a certificate after the client's side of the
	// handshake is done: the client learns it from an alert that races with its upload, and
	// docker's text varies from run to run ("remote error: tls: certificate required", or
	// "write tcp …: use of closed network connection" / "broken pipe"). Exit code and prefix
	// are stable.
	noCert := func(host string) []string {
		return []string{"--tlsverify", "--tlscacert", c.file("ca.pem"), "-H", host}
	}
	t.Run("no client certificate", func(t *testing.T) {
		t.Parallel()
		p := c.serve(t, 0)
		d, m := bothClients(t, ctxDir, noCert(p.host()), build, nil)
		prefix := `error during connect: Post "https://` + p.addr + `/v1.50/build?dockerfile=Dockerfile&t=mybuild-e2e%2Fnever%3Atls&version=1": `
		if d.Code != 1 || m.Code != 1 {
			t.Errorf("exit codes: docker %d, mybuild %d; want 1 and 1", d.Code, m.Code)
		}
		for _, r := range []result{d, m} {
			if !strings.HasPrefix(r.Stderr, prefix) || strings.Count(r.Stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting with %q", r.Stderr, prefix)
			}
		}
		if n := p.verified.Load(); n != 0 || p.rejected.Load() == 0 {
			t.Errorf("the proxy completed %d handshakes and rejected %d; want none and some", n, p.rejected.Load())
		}
		if t.Failed() {
			t.Logf("docker: %s\n\nmybuild: %s", d, m)
		}
	})

	// mybuild's pings before the build fail with the alert every time; its build request
	// should report it every time too, rather than the upload's write error.
	t.Run("no client certificate names the alert", func(t *testing.T) {
		t.Parallel()
		p := c.serve(t, 0)
		rec := &recorder{T: t}
		for i := 0; i < 10 && !rec.failed; i++ {
			m := run(t, cmdSpec{Bin: mybuildBin, Args: append(noCert(p.host()), build...), Dir: ctxDir})
			if m.Code != 1 || !strings.HasSuffix(m.Stderr, ": remote error: tls: certificate required\n") {
				rec.Errorf("run %d: want exit 1 and the TLS alert, got %s", i+1, m)
			}
		}
		if rec.failed {
			t.Errorf("%s", strings.Join(rec.logs, "\n"))
		}
	})

	// A TLS 1.2 server rejects the certificate-less client inside the handshake, before any
	// upload: both clients give the same error every time (Go's server sends "handshake
	// failure"; docker adds its client-authentication hint only to "bad certificate").
	t.Run("no client certificate, TLS 1.2 server", func(t *testing.T) {
		t.Parallel()
		p := c.serve(t, tls.VersionTLS12)
		d, m := bothClients(t, ctxDir, noCert(p.host()), build, nil)
		wantSameFailure(t, d, m, p.addr, "<ADDR>")
		if !strings.Contains(m.Stderr, "remote error: tls: ") {
			t.Errorf("mybuild's error does not give the server's TLS alert: %q", m.Stderr)
		}
	})

	t.Run("context", func(t *testing.T) {
		t.Parallel()
		p := c.serve(t, 0)
		endpoint := "host=" + p.host() + ",ca=" + c.file("ca.pem") + ",cert=" + c.file("cert.pem") + ",key=" + c.file("key.pem")
		buildInContext(t, nil, "tlsctx", endpoint, wantVia(t, p))
	})
}
