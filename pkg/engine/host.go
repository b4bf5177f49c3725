package engine

import (
	"fmt"
	"net"
	"net/url"
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
// do: a bare host:port means tcp, missing parts get defaults, and an empty
// value means the local socket (or tcp://localhost:2376 with TLS).
func ParseHost(defaultToTLS bool, val string) (string, error) {
	host := strings.TrimSpace(val)
	if host == "" {
		if defaultToTLS {
			return defaultTLSHost, nil
		}
		return DefaultHost, nil
	}
	parts := strings.SplitN(host, "://", 2)
	if len(parts) == 1 {
		parts = []string{"tcp", parts[0]}
	}
	switch parts[0] {
	case "tcp":
		def := defaultTCPHost
		if defaultToTLS {
			def = defaultTLSHost
		}
		return parseTCPAddr(host, def)
	case "unix":
		return parseSimpleProtoAddr("unix", parts[1], DefaultUnixSocket)
	case "npipe":
		return parseSimpleProtoAddr("npipe", parts[1], DefaultNamedPipe)
	case "fd", "ssh":
		return host, nil
	default:
		return "", fmt.Errorf("invalid bind address format: %s", host)
	}
}

func parseSimpleProtoAddr(proto, addr, defaultAddr string) (string, error) {
	if strings.Contains(addr, "://") {
		return "", fmt.Errorf("invalid proto, expected %s: %s", proto, addr)
	}
	if addr == "" {
		addr = defaultAddr
	}
	return proto + "://" + addr, nil
}

func parseTCPAddr(tryAddr, defaultAddr string) (string, error) {
	def, err := parseTCPURL(defaultAddr, true)
	if err != nil {
		return "", fmt.Errorf("invalid default address (%s): %v", defaultAddr, err)
	}
	addr, err := parseTCPURL(tryAddr, false)
	if err != nil {
		return "", fmt.Errorf("invalid bind address (%s): %v", tryAddr, err)
	}
	host := addr.Hostname()
	if host == "" {
		host = def.Hostname()
	}
	port := addr.Port()
	if port == "" {
		port = def.Port()
	}
	return "tcp://" + net.JoinHostPort(host, port) + addr.Path, nil
}

func parseTCPURL(address string, strict bool) (*url.URL, error) {
	if !strict && !strings.Contains(address, "://") {
		address = "tcp://" + address
	}
	u, err := url.Parse(address)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "tcp" {
		return nil, fmt.Errorf("unsupported proto '%s'", u.Scheme)
	}
	if u.Path != "" && u.Path != "/" && !strict && (u.RawQuery != "" || u.Fragment != "") {
		return nil, fmt.Errorf("extra path, query, or fragment")
	}
	if u.Path == "/" {
		u.Path = ""
	}
	return u, nil
}
