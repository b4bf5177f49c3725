package dockercontext

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
)

// SSHHTTPHost is the dummy base URL docker sends requests to when the host
// is ssh:// (it shows in errors: `Post "http://docker.example.com/v1.50/build?…"`).
const SSHHTTPHost = "http://docker.example.com"

// SSHSpec is the parsed form of ssh://[user@]host[:port][/socket].
type SSHSpec struct {
	User string
	Host string
	Port string
	// Path is the remote daemon socket; when set, the remote command gets
	// --host unix://<Path>.
	Path string
}

// ParseSSHURL checks an ssh:// host the way docker's connection helper
// does. A URL that does not parse gives url.Parse's error as it is
// (`parse "ssh://a b": invalid character " " in host name`); the other
// failures read "ssh host connection is not valid: invalid SSH URL: " +
// "plain-text password is not supported", `query parameters are not allowed: "x=1"`,
// `fragments are not allowed: "f"`, "hostname is empty" or
// "incorrect scheme: tcp". docker prints them after [InitPrefix] only.
func ParseSSHURL(host string) (SSHSpec, error) {
	u, err := url.Parse(host)
	if err != nil {
		return SSHSpec{}, err
	}
	sp, err := sshSpec(u)
	if err != nil {
		return SSHSpec{}, fmt.Errorf("ssh host connection is not valid: invalid SSH URL: %w", err)
	}
	return sp, nil
}

func sshSpec(u *url.URL) (SSHSpec, error) {
	if u.Scheme == "" {
		return SSHSpec{}, errors.New("no scheme provided")
	}
	if u.Scheme != "ssh" {
		return SSHSpec{}, errors.New("incorrect scheme: " + u.Scheme)
	}
	var sp SSHSpec
	if u.User != nil {
		sp.User = u.User.Username()
		if _, ok := u.User.Password(); ok {
			return SSHSpec{}, errors.New("plain-text password is not supported")
		}
	}
	sp.Host = u.Hostname()
	if sp.Host == "" {
		return SSHSpec{}, errors.New("hostname is empty")
	}
	sp.Port = u.Port()
	sp.Path = u.Path
	if u.RawQuery != "" {
		return SSHSpec{}, fmt.Errorf("query parameters are not allowed: %q", u.RawQuery)
	}
	if u.Fragment != "" {
		return SSHSpec{}, fmt.Errorf("fragments are not allowed: %q", u.Fragment)
	}
	return sp, nil
}

// Command returns the argv docker runs for this spec, argv[0] being "ssh"
// (looked up in PATH). Note that "-o ConnectTimeout=30" is one argument,
// exactly as docker passes it:
//
//	ssh "-o ConnectTimeout=30" -T [-l user] [-p port] -- host docker [--host unix://<path>] system dial-stdio
func (sp SSHSpec) Command() []string {
	argv := []string{"ssh", "-o ConnectTimeout=30", "-T"}
	if sp.User != "" {
		argv = append(argv, "-l", sp.User)
	}
	if sp.Port != "" {
		argv = append(argv, "-p", sp.Port)
	}
	argv = append(argv, "--", sp.Host, "docker")
	if sp.Path != "" {
		argv = append(argv, "--host", "unix://"+sp.Path)
	}
	return append(argv, "system", "dial-stdio")
}

// SSHCommand parses host with [ParseSSHURL] and returns [SSHSpec.Command].
func SSHCommand(host string) ([]string, error) {
	sp, err := ParseSSHURL(host)
	if err != nil {
		return nil, err
	}
	return sp.Command(), nil
}

// SSHDialer validates an ssh:// host and returns a dial function that
// starts `ssh … docker system dial-stdio` (see [SSHSpec.Command]) for each
// connection and speaks over its stdin/stdout (see [NewCommandConn]). Use it
// as the http.Transport's DialContext with no proxy and no TLS, and send
// requests to [SSHHTTPHost].
//
// As in docker, neither ctx bounds the life of the ssh process (cancelling a
// dial must not break a connection the http.Client will reuse); Close on the
// connection ends it. The validation errors are those of [ParseSSHURL].
func SSHDialer(ctx context.Context, host string) (func(ctx context.Context) (net.Conn, error), error) {
	_ = ctx
	argv, err := SSHCommand(host)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (net.Conn, error) {
		return NewCommandConn(ctx, argv[0], argv[1:]...)
	}, nil
}
