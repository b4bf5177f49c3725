package dockerconfig

import (
	"context"
	"io"
	"os/exec"
	"sync"
	"time"

	"github.com/docker/cli/cli/config/configfile"
	dockercreds "github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/sirupsen/logrus"
)

// maxHelpers bounds the credential-helper processes run at once.
const maxHelpers = 8

// allCredentials is configfile.GetAllCredentials with the helper calls run
// concurrently: docker runs one "docker-credential-X get" after another,
// and with a slow helper (gcloud, a keychain) every build waits for all of
// them in turn (docker/cli#1591). The result, the warnings and the
// failure rules are docker's:
//   - the default store (credsStore, else the file's auths) first: for a
//     helper, "list" then "get" for each entry, with the email kept from
//     auths; any failure there drops every credential (build ignores the
//     error and sends "{}");
//   - then each credHelpers entry overrides, a failure only logs
//     "Failed to get credentials for registry: <host>".
//
// Unlike docker, cancelling ctx (Ctrl-C) kills the helpers that still run
// (a keychain prompt, a hung helper) and returns nil at once. The warnings
// go to log, the helpers' stderr to log.Out.
func allCredentials(ctx context.Context, f *configfile.ConfigFile, log *logrus.Logger) map[string]types.AuthConfig {
	fileAuths := f.GetAuthConfigs() // also makes the map, before any goroutine reads it
	sem := make(chan struct{}, maxHelpers)

	var auths map[string]types.AuthConfig
	done := make(chan struct{})
	go func() {
		defer close(done)
		auths = storeCredentials(ctx, f.CredentialsStore, fileAuths, sem, log.Out)
	}()
	hosts := make([]string, 0, len(f.CredentialHelpers))
	for host := range f.CredentialHelpers {
		hosts = append(hosts, host)
	}
	got, errs := getAll(sem, hosts, func(host string) (types.AuthConfig, error) {
		return helperGet(ctx, f.CredentialHelpers[host], fileAuths, host, log.Out)
	})
	<-done
	if auths == nil || ctx.Err() != nil {
		return nil
	}
	for i, host := range hosts {
		if errs[i] != nil {
			log.WithError(errs[i]).Warnf("Failed to get credentials for registry: %s", host)
			continue
		}
		auths[host] = got[i]
	}
	return auths
}

// storeCredentials is the default store's GetAll: the file's auths when
// store is empty, else every entry the helper lists; nil when it fails.
func storeCredentials(ctx context.Context, store string, fileAuths map[string]types.AuthConfig, sem chan struct{}, stderr io.Writer) map[string]types.AuthConfig {
	auths := make(map[string]types.AuthConfig)
	if store == "" {
		for reg, ac := range fileAuths {
			auths[reg] = ac
		}
		return auths
	}
	program := helperProgram(ctx, store, stderr)
	listed, err := client.List(program)
	if err != nil {
		return nil
	}
	regs := make([]string, 0, len(listed))
	for reg := range listed {
		regs = append(regs, reg)
	}
	got, errs := getAll(sem, regs, func(reg string) (types.AuthConfig, error) {
		creds, err := helperCredentials(program, reg)
		if err != nil {
			return types.AuthConfig{}, err
		}
		ac := fileAuths[reg] // might hold an email
		ac.Username, ac.Password, ac.IdentityToken = creds.Username, creds.Password, creds.IdentityToken
		if ac.ServerAddress == "" {
			ac.ServerAddress = creds.ServerAddress
		}
		return ac, nil
	})
	for i, reg := range regs {
		if errs[i] != nil {
			return nil
		}
		auths[reg] = got[i]
	}
	return auths
}

// getAll calls get for each key, while sem has room, and returns the
// results in the keys' order.
func getAll(sem chan struct{}, keys []string, get func(string) (types.AuthConfig, error)) ([]types.AuthConfig, []error) {
	got := make([]types.AuthConfig, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got[i], errs[i] = get(key)
		}()
	}
	wg.Wait()
	return got, errs
}

// helperGet is docker's GetAuthConfig for a credHelpers entry: the file's
// entry for host, with what the helper has for it; a helper named "" is no
// helper (the file's entry alone).
func helperGet(ctx context.Context, helper string, fileAuths map[string]types.AuthConfig, host string, stderr io.Writer) (types.AuthConfig, error) {
	ac := fileGet(fileAuths, host)
	if helper == "" {
		return ac, nil
	}
	creds, err := helperCredentials(helperProgram(ctx, helper, stderr), host)
	if err != nil {
		return ac, err
	}
	ac.Username, ac.IdentityToken, ac.Password = creds.Username, creds.IdentityToken, creds.Password
	ac.ServerAddress = creds.ServerAddress
	return ac, nil
}

// fileGet is docker's file store Get: the entry for server, else one whose
// key has server as its host name.
func fileGet(fileAuths map[string]types.AuthConfig, server string) types.AuthConfig {
	if ac, ok := fileAuths[server]; ok {
		return ac
	}
	for reg, ac := range fileAuths {
		if server == dockercreds.ConvertToHostname(reg) {
			return ac
		}
	}
	return types.AuthConfig{}
}

// helperProgram runs docker-credential-<name> as docker does (its stderr is
// ours: stderr), but under ctx.
func helperProgram(ctx context.Context, name string, stderr io.Writer) client.ProgramFunc {
	return func(args ...string) client.Program {
		cmd := exec.CommandContext(ctx, "docker-credential-"+name, args...)
		cmd.Stderr = stderr
		// Killed on cancel, a helper's own children may keep stdout open
		// (those in our process group got the terminal's SIGINT too).
		cmd.WaitDelay = 100 * time.Millisecond
		return &helperCmd{cmd}
	}
}

type helperCmd struct{ cmd *exec.Cmd }

func (h *helperCmd) Output() ([]byte, error) { return h.cmd.Output() }
func (h *helperCmd) Input(in io.Reader)      { h.cmd.Stdin = in }

// helperCredentials is docker's nativeStore.getCredentialsFromStore: "not
// found" is no error and no credentials; the "<token>" user name marks an
// identity token.
func helperCredentials(program client.ProgramFunc, server string) (types.AuthConfig, error) {
	creds, err := client.Get(program, server)
	if err != nil {
		if credentials.IsErrCredentialsNotFound(err) {
			return types.AuthConfig{}, nil
		}
		return types.AuthConfig{}, err
	}
	var ac types.AuthConfig
	if creds.Username == "<token>" {
		ac.IdentityToken = creds.Secret
	} else {
		ac.Username, ac.Password = creds.Username, creds.Secret
	}
	ac.ServerAddress = server
	return ac, nil
}
