package opts

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/distribution/reference"
)

// hostGateway is the special --add-host address the daemon replaces with
// its host-gateway IP.
const hostGateway = "host-gateway"

// labelWhitespace is what a label name may not contain.
const labelWhitespace = " \t"

// ValidateTag checks an image reference for --tag with
// reference.ParseNormalizedNamed and returns it exactly as typed (it is
// not normalised: "ubuntu" stays "ubuntu"). Errors are the reference
// package's, e.g. "invalid reference format: repository name
// (library/UPPER) must be lowercase".
func ValidateTag(val string) (string, error) {
	if _, err := reference.ParseNormalizedNamed(val); err != nil {
		return "", err
	}
	return val, nil
}

// ValidateEnv checks a NAME[=VALUE] pair (docker's opts.ValidateEnv, used
// for --build-arg): only an empty NAME is rejected, with
// "invalid environment variable: <val>". The value is returned unchanged.
//
// Unlike docker, a bare NAME is not replaced with NAME=<env value> here;
// [ConvertKVStringsToMapWithNil] does that lookup later with an injected
// function, which gives the same final build-args.
func ValidateEnv(val string) (string, error) {
	name, _, _ := strings.Cut(val, "=")
	if name == "" {
		return "", errors.New("invalid environment variable: " + val)
	}
	return val, nil
}

// ValidateLabel checks a KEY[=VALUE] label and returns it unchanged. The
// key, with leading spaces and tabs ignored, must not be empty
// ("invalid label '<val>': empty name") nor contain a space or tab
// ("label '<key>' contains whitespaces").
func ValidateLabel(val string) (string, error) {
	key, _, _ := strings.Cut(val, "=")
	key = strings.TrimLeft(key, labelWhitespace)
	if key == "" {
		return "", fmt.Errorf("invalid label '%s': empty name", val)
	}
	if strings.ContainsAny(key, labelWhitespace) {
		return "", fmt.Errorf("label '%s' contains whitespaces", key)
	}
	return val, nil
}

// ValidateExtraHost checks an --add-host value, "host:ip" or "host=ip",
// and returns it normalised to "host:ip" with square brackets around the
// address removed ("h=[::1]" → "h:::1"). The address must parse as an IP
// (surrounding whitespace allowed, and kept) or be "host-gateway".
//
// Errors: `bad format for add-host: "<val>"` when there is no separator,
// the host is empty or contains ':'; `invalid IP address in add-host:
// "<ip>"` otherwise.
func ValidateExtraHost(val string) (string, error) {
	host, addr, ok := strings.Cut(val, "=")
	if !ok {
		// Only the first ':' separates, so IPv6 addresses need no brackets.
		host, addr, ok = strings.Cut(val, ":")
	}
	if !ok || host == "" || strings.Contains(host, ":") {
		return "", fmt.Errorf("bad format for add-host: %q", val)
	}
	if addr != hostGateway {
		if len(addr) > 2 && addr[0] == '[' && addr[len(addr)-1] == ']' {
			addr = addr[1 : len(addr)-1]
		}
		if net.ParseIP(strings.TrimSpace(addr)) == nil {
			return "", fmt.Errorf("invalid IP address in add-host: %q", addr)
		}
	}
	return host + ":" + addr, nil
}
