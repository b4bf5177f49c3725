package buildkit

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// TestSessionServersServeHealth runs a session as client.Build does, with
// the wrapped dialer, and calls it as the daemon would: over the "hijacked"
// connection with a gRPC client. Run must end when the daemon hangs up.
func TestSessionServersServeHealth(t *testing.T) {
	tests := []struct {
		name    string
		managed bool // made by newSession: served by sessionServers
	}{
		{"served on grpc's transport", true},
		{"not ours: left to session.Run", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ss := &sessionServers{}
			s, release, err := ss.newSession(ctx, "key")
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if !tt.managed {
				release()
			}
			ours, daemons := net.Pipe()
			var gotMeta map[string][]string
			dial := ss.dialer(func(_ context.Context, proto string, meta map[string][]string) (net.Conn, error) {
				gotMeta = meta
				return ours, nil
			})
			ran := make(chan error, 1)
			go func() { ran <- s.Run(ctx, dial) }()

			cc, err := grpc.NewClient("passthrough:///session",
				grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return daemons, nil }))
			if err != nil {
				t.Fatal(err)
			}
			res, err := grpc_health_v1.NewHealthClient(cc).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(grpc_health_v1.HealthCheckResponse_SERVING, res.GetStatus()); diff != "" {
				t.Errorf("health (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{s.ID()}, gotMeta["X-Docker-Expose-Session-Uuid"]); diff != "" {
				t.Errorf("session header (-want +got):\n%s", diff)
			}
			cc.Close()
			select {
			case err := <-ran:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-ctx.Done():
				t.Fatal("session.Run did not end when the daemon hung up")
			}
			s.Close()
		})
	}
}

// TestSessionServersClose: Session.Close ends a served session.
func TestSessionServersClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ss := &sessionServers{}
	s, release, err := ss.newSession(ctx, "key")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ours, daemons := net.Pipe()
	ran := make(chan error, 1)
	go func() {
		ran <- s.Run(ctx, ss.dialer(func(context.Context, string, map[string][]string) (net.Conn, error) { return ours, nil }))
	}()
	go func() { _, _ = io.Copy(io.Discard, daemons) }() // the daemon reads our SETTINGS
	time.Sleep(50 * time.Millisecond)                   // let Run dial
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Session.Close did not return")
	}
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := daemons.Write([]byte("x")); err == nil {
		t.Error("the hijacked connection is still open after Close")
	}
}

func TestIdleConn(t *testing.T) {
	real, other := net.Pipe()
	defer real.Close()
	defer other.Close()
	c := newIdleConn(real)
	var got []byte
	buf := make([]byte, 10) // smaller than the prologue: read in pieces
	for len(got) < len(clientPrologue) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if diff := cmp.Diff(clientPrologue, string(got)); diff != "" {
		t.Errorf("prologue (-want +got):\n%s", diff)
	}
	if n, err := c.Write([]byte("settings ack")); n != 12 || err != nil {
		t.Errorf("Write = %d, %v; want 12, nil", n, err)
	}
	read := make(chan error, 1)
	go func() { _, err := c.Read(buf); read <- err }()
	select {
	case err := <-read:
		t.Fatalf("Read returned %v before Close", err)
	case <-time.After(20 * time.Millisecond):
	}
	c.Close()
	if err := <-read; !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close = %v, want EOF", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	if diff := cmp.Diff(real.LocalAddr().String(), c.LocalAddr().String()); diff != "" {
		t.Errorf("LocalAddr (-want +got):\n%s", diff)
	}
}

func TestOneConnListener(t *testing.T) {
	tests := []struct {
		name       string
		accept     bool
		wantClosed bool // Close closes the connection itself
	}{
		{"accepted", true, true},
		{"never accepted", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			l := &oneConnListener{conn: a, done: make(chan struct{})}
			if tt.accept {
				c, err := l.Accept()
				if err != nil || c != a {
					t.Fatalf("Accept = %v, %v", c, err)
				}
			}
			second := make(chan error, 1)
			go func() { _, err := l.Accept(); second <- err }()
			l.Close()
			if err := <-second; !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
			}
			_ = a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)) // nobody reads b
			_, werr := a.Write([]byte("x"))
			if diff := cmp.Diff(tt.wantClosed, errors.Is(werr, io.ErrClosedPipe)); diff != "" {
				t.Errorf("conn closed (-want +got):\n%s", diff)
			}
			a.Close()
		})
	}
}
