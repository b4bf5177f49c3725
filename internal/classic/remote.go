package classic

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// warnPlainCredentials warns once when registry credentials would travel
// over plain TCP to a host that is not this machine: X-Registry-Config
// carries the user's registry passwords and only TLS protects them.
func warnPlainCredentials(w io.Writer, host string, tlsOn bool, credentials int, remote func() bool, getenv func(string) string) {
	if credentials == 0 || tlsOn || getenv("MYBUILD_NO_CREDENTIALS_WARNING") != "" || !strings.HasPrefix(host, "tcp://") || !remote() {
		return
	}
	fmt.Fprintf(w, "WARNING: your registry credentials are sent to %s without TLS; anyone on the network path can read them. Use --tlsverify, or set MYBUILD_NO_CREDENTIALS_WARNING=1 to silence this warning.\n", host)
}

// isRemote: a tcp or ssh endpoint whose host is not this machine.
func isRemote(ctx context.Context, host string) bool {
	if !strings.HasPrefix(host, "tcp://") && !strings.HasPrefix(host, "ssh://") {
		return false
	}
	u, err := url.Parse(host)
	return err == nil && !isLoopback(ctx, u.Hostname())
}

func isLoopback(ctx context.Context, host string) bool {
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return false
		}
	}
	return true
}
