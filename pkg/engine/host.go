package engine

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Default daemon addresses, as the docker CLI defines them on Unix.
const (
	DefaultUnixSocket = "/var/run/docker.sock"
	DefaultNamedPipe  = "//./pipe/docker_engine"
	defaultTCPHost    = "tcp://localhost:2375"
	defaultTLSHost    = "tcp://localhost:2376"
)

// ParseHost normalises a daemon address as docker's -H flag and DOCKER_HOST
// do (docker/cli opts.ParseHost): a bare host:port means tcp, missing parts
// get defaults, and an empty value means the local socket (or
// tcp://localhost:2376 with TLS; a tcp address without a port gets 2375
// even with TLS, as in docker).
func ParseHost(defaultToTLS bool, val string) (string, error) {
	host := strings.TrimSpace(val)
	if host == "" {
		if defaultToTLS {
			return defaultTLSHost, nil
		}
		return DefaultHost, nil
	}
	proto, addr, hasProto := strings.Cut(host, "://")
	if !hasProto {
		proto, addr = "tcp", host
	}
	switch proto {
	case "tcp":
		return parseTCPAddr(addr, defaultTCPHost)
	case "unix":
		return parseSimpleProtoAddr("unix", addr, DefaultUnixSocket)
	case "npipe":
		return parseSimpleProtoAddr("npipe", addr, DefaultNamedPipe)
	case "fd", "ssh":
		return host, nil
	default:
		return "", fmt.Errorf("invalid bind address format: %s", host)
	}
}

func parseSimpleProtoAddr(proto, addr, defaultAddr string) (string, error) {
	addr = strings.TrimPrefix(addr, proto+"://")
	if strings.Contains(addr, "://") {
		return "", fmt.Errorf("invalid proto, expected %s: %s", proto, addr)
	}
	if addr == "" {
		addr = defaultAddr
	}
	return proto + "://" + addr, nil
}

// parseTCPAddr is docker/cli's opts.ParseTCPAddr, quirks included: a
// second "tcp://" is dropped, the path is kept and the query dropped, and
// a port that does not parse as a number is refused only when it is 0.
func parseTCPAddr(tryAddr, defaultAddr string) (string, error) {
	if tryAddr == "" || tryAddr == "tcp://" {
		return defaultAddr, nil
	}
	addr := strings.TrimPrefix(tryAddr, "tcp://")
	if strings.Contains(addr, "://") || addr == "" {
		return "", fmt.Errorf("invalid proto, expected tcp: %s", tryAddr)
	}
	defaultHost, defaultPort, err := net.SplitHostPort(strings.TrimPrefix(defaultAddr, "tcp://"))
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(addr, "]:") {
		addr += defaultPort
	}
	u, err := url.Parse("tcp://" + addr)
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port, err = net.SplitHostPort(net.JoinHostPort(u.Host, defaultPort))
	}
	if err != nil {
		return "", fmt.Errorf("invalid bind address format: %s", tryAddr)
	}
	if host == "" {
		host = defaultHost
	}
	if port == "" {
		port = defaultPort
	}
	if p, err := strconv.Atoi(port); err != nil && p == 0 {
		return "", fmt.Errorf("invalid bind address format: %s", tryAddr)
	}
	return "tcp://" + net.JoinHostPort(host, port) + u.Path, nil
}
