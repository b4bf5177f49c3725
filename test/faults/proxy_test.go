//go:build linux

package faults

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// proxy forwards loopback TCP connections to a target, as a load
// balancer between a client and its daemon would, until the test cuts
// them (every connection closed, new ones refused) or stalls them (bytes
// stop, sockets stay open, new ones are accepted and left unanswered).
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	stalls bool
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		stalled := p.stalls
		p.mu.Unlock()
		if stalled {
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, up)
		p.mu.Unlock()
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst while the proxy does not stall; a stalled pipe
// holds what it read and both sockets.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		stalled := p.stalls
		p.mu.Unlock()
		if stalled {
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}

// stall stops every byte from now on.
func (p *proxy) stall() {
	p.mu.Lock()
	p.stalls = true
	p.mu.Unlock()
}

// cut closes every connection and the listener.
func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// runThroughProxy starts c on Engine 29 through a new proxy with a RUN
// that says it started, then sleeps silently; it returns once the RUN
// runs.
func runThroughProxy(t *testing.T, c client, env ...string) (*proc, *proxy, string) {
	m := marker()
	px := startProxy(t, engine29TCP)
	sleep := "sleep 1" + m
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo started-" + m + "; exec " + sleep + "\n"})
	env = append([]string{"DOCKER_HOST=tcp://" + px.addr()}, env...)
	p := c.start(t, dir, bed.env(env...), "--network", "none", "--progress", "plain", "-o", "type=cacheonly", ".")
	p.waitFor(t, "started-"+m, 60*time.Second)
	time.Sleep(300 * time.Millisecond)
	return p, px, sleep
}

// TestConnectionCut: row 3, every connection to the daemon closed during
// a RUN. The daemon cancels the build; the client says so at once.
func TestConnectionCut(t *testing.T) {
	need(t, engine29)
	eachClient(t, "3. daemon connections cut during a RUN", want{code: 1, within: 10, clean: true}, func(t *testing.T, c client) (outcome, []string) {
		p, px, sleep := runThroughProxy(t, c)
		px.cut()
		p.strike()
		o := p.wait(hangLimit)
		o.left = goneWithin(sleep, 10*time.Second)
		return o, []string{px.addr()}
	})
}

// TestConnectionStalled: row 4, the connections to the daemon stall
// during a RUN (nothing passes, nothing is closed). buildx waits forever;
// mybuild gives up after MYBUILD_TIMEOUT. Once the proxy lets the
// connections go, the daemon ends the RUN.
func TestConnectionStalled(t *testing.T) {
	need(t, engine29)
	eachClient(t, "4. daemon connections stalled during a RUN", want{code: 1, within: 20, clean: true}, func(t *testing.T, c client) (outcome, []string) {
		p, px, sleep := runThroughProxy(t, c, "MYBUILD_TIMEOUT=3s")
		px.stall()
		p.strike()
		o := p.wait(hangLimit)
		px.cut()
		o.left = goneWithin(sleep, 10*time.Second)
		return o, []string{px.addr()}
	})
}
