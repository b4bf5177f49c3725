package dockerconfig

import (
	"github.com/moby/buildkit/session/auth/authprovider"
)

// BuildKitAuth answers a BuildKit session's credential requests from
// config.json, one registry host at a time (auths, credsStore,
// credHelpers), as buildx does.
func (c *Config) BuildKitAuth() authprovider.AuthConfigProvider {
	return authprovider.LoadAuthConfig(c.file)
}

// BuildKitProxies are config.json's proxies for the daemon at host (or
// "default") as buildx passes them to a build: upper-case build arguments.
func (c *Config) BuildKitProxies(host string) map[string]string {
	p, ok := c.file.Proxies[host]
	if !ok {
		p = c.file.Proxies["default"]
	}
	m := map[string]string{}
	for k, v := range map[string]string{"HTTP_PROXY": p.HTTPProxy, "HTTPS_PROXY": p.HTTPSProxy, "NO_PROXY": p.NoProxy, "FTP_PROXY": p.FTPProxy} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// BuilderAlias is config.json's aliases.builder: "buildx" once `docker
// buildx install` made docker build an alias of buildx build.
func (c *Config) BuilderAlias() string {
	return c.file.Aliases["builder"]
}
