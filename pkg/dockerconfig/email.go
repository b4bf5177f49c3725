package dockerconfig

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli/config"
	dockercreds "github.com/docker/cli/cli/config/credentials"
)

// fileEmails are the "email" fields of config.json's auths, by key. docker
// 28 still sends them in X-Registry-Config, but the config types of the
// docker/cli module that BuildKit requires (v29) no longer decode them.
func fileEmails(dir string) map[string]string {
	if dir == "" {
		dir = config.Dir()
	}
	dt, err := os.ReadFile(filepath.Join(dir, config.ConfigFileName))
	if err != nil {
		return nil
	}
	var f struct {
		Auths map[string]struct {
			Email string `json:"email"`
		} `json:"auths"`
	}
	if json.Unmarshal(dt, &f) != nil {
		return nil
	}
	out := map[string]string{}
	for k, a := range f.Auths {
		if a.Email != "" {
			out[k] = a.Email
		}
	}
	return out
}

// emailFor finds server's email as docker's file store finds its entry:
// by key, else by a key whose host name is server.
func emailFor(emails map[string]string, server string) string {
	if e, ok := emails[server]; ok {
		return e
	}
	for reg, e := range emails {
		if server == dockercreds.ConvertToHostname(reg) {
			return e
		}
	}
	return ""
}
