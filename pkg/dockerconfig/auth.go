// Package dockerconfig reads the user's docker config.json (DOCKER_CONFIG,
// ~/.docker or --config) with docker/cli's own loader: the current context,
// HTTP headers, proxies, the build alias and registry credentials (auths,
// credsStore, credHelpers), for both builders.
package dockerconfig

import (
	"context"
	"io"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/sirupsen/logrus"
)

// Config is a loaded config.json.
type Config struct {
	file   *configfile.ConfigFile
	emails map[string]string
}

// Credential is one registry's entry of X-Registry-Config, with the fields
// of docker's AuthConfig.
type Credential struct {
	Username      string
	Password      string
	Auth          string
	Email         string
	ServerAddress string
	IdentityToken string
	RegistryToken string
}

// Load reads config.json from dir, or from docker's default directory
// when dir is empty. A broken file prints docker's warning on stderr and
// counts as empty, as docker does.
func Load(dir string, stderr io.Writer) *Config {
	if dir != "" {
		config.SetDir(dir)
	}
	return &Config{file: config.LoadDefaultConfigFile(stderr), emails: fileEmails(dir)}
}

// Dir returns the configuration directory in use.
func Dir() string { return config.Dir() }

// Credentials returns every credential docker would send in
// X-Registry-Config: auths, or the credential store, then credHelpers.
// Like docker, failures leave out what could not be read, with a warning
// on log; the helpers' stderr is log.Out. The helpers run under ctx: when
// it is cancelled, the result is empty.
func (c *Config) Credentials(ctx context.Context, log *logrus.Logger) map[string]Credential {
	creds := allCredentials(ctx, c.file, log)
	out := make(map[string]Credential, len(creds))
	for k, a := range creds {
		out[k] = Credential{
			Username:      a.Username,
			Password:      a.Password,
			Auth:          a.Auth,
			Email:         emailFor(c.emails, k),
			ServerAddress: a.ServerAddress,
			IdentityToken: a.IdentityToken,
			RegistryToken: a.RegistryToken,
		}
	}
	return out
}

// ProxyBuildArgs adds config.json "proxies" for host (or "default") to
// buildArgs, keeping keys the user set.
func (c *Config) ProxyBuildArgs(host string, buildArgs map[string]*string) map[string]*string {
	return c.file.ParseProxyConfig(host, buildArgs)
}

// Headers returns config.json HttpHeaders.
func (c *Config) Headers() map[string]string {
	return c.file.HTTPHeaders
}

// CurrentContext returns config.json currentContext.
func (c *Config) CurrentContext() string { return c.file.CurrentContext }
