//go:build !windows

package engine

import (
	"context"
	"net"
	"time"
)

// DefaultHost is the daemon address used when nothing else is configured.
const DefaultHost = "unix://" + DefaultUnixSocket

// pipeDialer: named pipes exist only on Windows.
func pipeDialer(string, time.Duration) func(ctx context.Context) (net.Conn, error) {
	return nil
}
