package engine

import (
	"context"
	"net"
	"time"

	"github.com/Microsoft/go-winio"
)

// DefaultHost is the daemon address used when nothing else is configured:
// Docker Desktop's and dockerd's named pipe on Windows.
const DefaultHost = "npipe://" + DefaultNamedPipe

// pipeDialer connects to a named pipe, as docker's client does on Windows.
func pipeDialer(addr string, timeout time.Duration) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return winio.DialPipeContext(ctx, addr)
	}
}
