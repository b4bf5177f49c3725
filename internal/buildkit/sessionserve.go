package buildkit

import (
	"context"
	"io"
	"net"
	"sync"
	"time"

	"github.com/moby/buildkit/session"
	"google.golang.org/grpc"
)

// BuildKit's session.Run serves the hijacked /session connection with
// x/net's HTTP/2 server and grpc's ServeHTTP handler, which flushes every
// message in a frame and a write of its own: an unchanged rebuild's 27k
// stat messages then cost a syscall each. sessionServers serves the same
// gRPC server (the session's, with its attachables) on grpc's own HTTP/2
// transport, which batches writes, and hands session.Run an idle
// connection to serve instead.
type sessionServers struct {
	mu sync.Mutex
	m  map[string]*grpc.Server // by session ID
}

// newSession makes a build's session, as client.Build would, and keeps
// its gRPC server for dial; release forgets it.
func (ss *sessionServers) newSession(ctx context.Context, sharedKey string) (s *session.Session, release func(), err error) {
	s, err = session.NewSession(ctx, sharedKey)
	if err != nil {
		return nil, nil, err
	}
	var srv *grpc.Server
	s.Allow(serverCapture(func(g *grpc.Server) { srv = g }))
	ss.mu.Lock()
	if ss.m == nil {
		ss.m = map[string]*grpc.Server{}
	}
	ss.m[s.ID()] = srv
	ss.mu.Unlock()
	return s, func() {
		ss.mu.Lock()
		delete(ss.m, s.ID())
		ss.mu.Unlock()
	}, nil
}

// serverCapture is an attachable that registers nothing: it is handed the
// session's gRPC server.
type serverCapture func(*grpc.Server)

func (f serverCapture) Register(s *grpc.Server) { f(s) }

// dialer wraps dial (the /session hijack): for a session made by
// newSession it serves the connection itself and returns an idle one.
func (ss *sessionServers) dialer(dial session.Dialer) session.Dialer {
	return func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
		var srv *grpc.Server
		if ids := meta["X-Docker-Expose-Session-Uuid"]; len(ids) == 1 {
			ss.mu.Lock()
			srv = ss.m[ids[0]]
			ss.mu.Unlock()
		}
		conn, err := dial(ctx, proto, meta)
		if err != nil || srv == nil {
			return conn, err
		}
		idle := newIdleConn(conn)
		// The session ends when the daemon drops the connection (grpc
		// closes it), or with Session.Close (which stops srv).
		lis := &oneConnListener{conn: &closeHookConn{Conn: conn, hook: idle.Close}, done: make(chan struct{})}
		go func() { _ = srv.Serve(lis) }()
		return idle, nil
	}
}

// oneConnListener accepts one connection, then waits to be closed. grpc
// closes it when the server stops (Session.Close): the connection goes
// with it, even one still in its handshake, which Stop would wait for.
type oneConnListener struct {
	mu       sync.Mutex
	conn     net.Conn
	done     chan struct{}
	closed   bool
	accepted bool
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if !l.accepted && !l.closed {
		l.accepted = true
		c := l.conn
		l.mu.Unlock()
		return c, nil
	}
	l.mu.Unlock()
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.done)
	return l.conn.Close()
}

func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

// closeHookConn calls hook once it is closed.
type closeHookConn struct {
	net.Conn
	once sync.Once
	hook func() error
}

func (c *closeHookConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { _ = c.hook() })
	return err
}

// clientPrologue is what an HTTP/2 client sends first: the preface and an
// empty SETTINGS frame. session.Run's server reads it from idleConn and
// then waits, idle, for requests that never come.
const clientPrologue = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"

// idleConn is the connection session.Run serves in place of the real one:
// it reads clientPrologue, then blocks until closed; writes are dropped.
type idleConn struct {
	mu       sync.Mutex
	prologue []byte
	done     chan struct{}
	once     sync.Once
	local    net.Addr
	remote   net.Addr
}

func newIdleConn(real net.Conn) *idleConn {
	return &idleConn{prologue: []byte(clientPrologue), done: make(chan struct{}), local: real.LocalAddr(), remote: real.RemoteAddr()}
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.prologue) > 0 {
		n := copy(p, c.prologue)
		c.prologue = c.prologue[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	<-c.done
	return 0, io.EOF
}

func (c *idleConn) Write(p []byte) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
		return len(p), nil
	}
}

func (c *idleConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *idleConn) LocalAddr() net.Addr              { return c.local }
func (c *idleConn) RemoteAddr() net.Addr             { return c.remote }
func (c *idleConn) SetDeadline(time.Time) error      { return nil }
func (c *idleConn) SetReadDeadline(time.Time) error  { return nil }
func (c *idleConn) SetWriteDeadline(time.Time) error { return nil }
