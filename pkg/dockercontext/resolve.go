package dockercontext

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// DefaultContextName is the name of the context built from -H / DOCKER_HOST
// (and the TLS flags), which never lives in the store.
const DefaultContextName = "default"

// Environment variables read through [Inputs.Env].
const (
	EnvHost    = "DOCKER_HOST"
	EnvContext = "DOCKER_CONTEXT"
	EnvConfig  = "DOCKER_CONFIG"
)

// Prefixes docker puts in front of the errors of [Resolve] (all but
// [ErrConflictingOptions]); see the package documentation.
const (
	InitPrefix    = "Failed to initialize: "
	ResolvePrefix = "unable to resolve docker endpoint: "
)

// ErrConflictingOptions is returned by [Resolve] when both --context and -H
// are given. docker prints it without any prefix.
var ErrConflictingOptions = errors.New("conflicting options: cannot specify both --host and --context")

// errOnlyOneHost is docker's getServerHost error for several -H.
var errOnlyOneHost = errors.New("Specify only one -H") //nolint:staticcheck // docker's exact text

// Inputs are what docker's endpoint resolution depends on.
type Inputs struct {
	// ConfigDir is the docker configuration directory (--config). When
	// empty, $DOCKER_CONFIG, else $HOME/.docker, as docker does.
	ConfigDir string
	// ContextFlag is the global --context / -c value.
	ContextFlag string
	// Hosts are the global -H / --host values, in order.
	Hosts []string
	// Env looks up environment variables; nil means os.Getenv.
	Env func(string) string
	// CurrentContext is config.json's "currentContext".
	CurrentContext string
}

// Endpoint is the resolved docker endpoint.
type Endpoint struct {
	// Host is, for the default context, the single -H value or else
	// $DOCKER_HOST, raw (not passed through ParseHost; empty when neither
	// is set). For a named context it is Endpoints.docker.Host from the
	// store, which docker uses as it is (no ParseHost); empty there means
	// the client's built-in default (unix:///var/run/docker.sock).
	Host string
	// SkipTLSVerify is Endpoints.docker.SkipTLSVerify (named contexts only).
	SkipTLSVerify bool
	// CA, Cert and Key are the PEM files ca.pem, cert.pem and key.pem of
	// the context's docker TLS directory, nil when absent.
	CA, Cert, Key []byte
	// ContextName is the resolved context name ("default" or a store name).
	ContextName string
	// HasTLSData reports that the store holds a TLS directory for the
	// context's docker endpoint, even an empty one. Like docker's
	// TLSData != nil, it switches TLS on for tcp hosts (see TLSConfig).
	HasTLSData bool
	// Warnings are the messages docker logs at level "warning" while
	// loading the context, e.g. "unknown file in context foo TLS bundle: x.txt"
	// (docker: time="…" level=warning msg="…" on stderr).
	Warnings []string
}

func (in Inputs) getenv(key string) string {
	if in.Env == nil {
		return os.Getenv(key)
	}
	return in.Env(key)
}

// ContextName returns the context docker would use, by its precedence:
// --context > -H (→ "default") > non-empty DOCKER_HOST (→ "default") >
// DOCKER_CONTEXT > config currentContext > "default". It does not check
// that the context exists nor the --context/-H conflict.
func ContextName(in Inputs) string {
	switch {
	case in.ContextFlag != "":
		return in.ContextFlag
	case len(in.Hosts) > 0:
		return DefaultContextName
	case in.getenv(EnvHost) != "":
		return DefaultContextName
	}
	if name := in.getenv(EnvContext); name != "" {
		return name
	}
	if in.CurrentContext != "" {
		return in.CurrentContext
	}
	return DefaultContextName
}

// ConfigDir returns in.ConfigDir, or docker's default: $DOCKER_CONFIG, else
// $HOME/.docker.
func ConfigDir(in Inputs) string {
	if in.ConfigDir != "" {
		return in.ConfigDir
	}
	if d := in.getenv(EnvConfig); d != "" {
		return d
	}
	home := in.getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker")
}

// StoreID is the directory name of a context in the store: the hex SHA-256
// of its name.
func StoreID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// MetaPath is <configdir>/contexts/meta/<id>/meta.json.
func MetaPath(configDir, name string) string {
	return filepath.Join(configDir, "contexts", "meta", StoreID(name), "meta.json")
}

// TLSDir is <configdir>/contexts/tls/<id> (it holds one directory per
// endpoint, e.g. "docker").
func TLSDir(configDir, name string) string {
	return filepath.Join(configDir, "contexts", "tls", StoreID(name))
}

// Resolve resolves the docker endpoint as docker 28.2.2 does. Errors carry
// docker's text; see the package documentation for how docker prints them
// ([ResolveErrorMessage]).
func Resolve(in Inputs) (Endpoint, error) {
	if in.ContextFlag != "" && len(in.Hosts) > 0 {
		return Endpoint{}, ErrConflictingOptions
	}
	name := ContextName(in)
	if name == DefaultContextName {
		ep := Endpoint{ContextName: DefaultContextName}
		switch len(in.Hosts) {
		case 0:
			ep.Host = in.getenv(EnvHost)
		case 1:
			ep.Host = in.Hosts[0]
		default:
			return Endpoint{}, errOnlyOneHost
		}
		return ep, nil
	}
	dir := ConfigDir(in)
	meta, err := loadDockerEndpointMeta(dir, name)
	if err != nil {
		return Endpoint{}, err
	}
	ep := Endpoint{
		Host:          meta.Host,
		SkipTLSVerify: meta.SkipTLSVerify,
		ContextName:   name,
	}
	if err := loadTLS(&ep, dir, name); err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// ResolveErrorMessage is the line docker prints on stderr for an error
// returned by [Resolve] (exit status 1 in both cases).
func ResolveErrorMessage(err error) string {
	if errors.Is(err, ErrConflictingOptions) {
		return err.Error()
	}
	return InitPrefix + ResolvePrefix + err.Error()
}

// untypedContextMetadata mirrors the store's on-disk layout; the type and
// field names appear in JSON error messages, so they match docker's.
type untypedContextMetadata struct {
	Metadata  json.RawMessage            `json:"metadata,omitempty"`
	Endpoints map[string]json.RawMessage `json:"endpoints,omitempty"`
	Name      string                     `json:"name,omitempty"`
}

// endpointMeta is Endpoints.docker of meta.json.
type endpointMeta struct {
	Host          string
	SkipTLSVerify bool
}

// notFoundError marks a missing context (errdefs NotFound in docker).
type notFoundError struct{ err error }

func (e notFoundError) Error() string { return e.err.Error() }
func (e notFoundError) Unwrap() error { return e.err }
func (notFoundError) NotFound()       {}

func loadDockerEndpointMeta(configDir, name string) (endpointMeta, error) {
	// Named like docker's type, whose name shows in JSON errors ("Go struct
	// field EndpointMetaBase.Host of type string"); local so it stays
	// unexported.
	type EndpointMetaBase struct {
		Host          string `json:",omitempty"`
		SkipTLSVerify bool
	}
	file := MetaPath(configDir, name)
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = notFoundError{fmt.Errorf("context not found: %w", err)}
		}
		return endpointMeta{}, fmt.Errorf("context %q: %w", name, err)
	}
	parseErr := func(err error) error {
		return fmt.Errorf("context %q: parsing %s: %v", name, file, err)
	}
	var untyped untypedContextMetadata
	if err := json.Unmarshal(data, &untyped); err != nil {
		return endpointMeta{}, parseErr(err)
	}
	// docker decodes the context metadata into its DockerContext type,
	// whose UnmarshalJSON goes through a map.
	if err := decodeMap(untyped.Metadata); err != nil {
		return endpointMeta{}, parseErr(err)
	}
	// docker ranges over a map (random order); sorting keeps errors stable.
	keys := make([]string, 0, len(untyped.Endpoints))
	for k := range untyped.Endpoints {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var (
		docker      *EndpointMetaBase
		dockerFound bool
	)
	for _, k := range keys {
		raw := untyped.Endpoints[k]
		if k != "docker" {
			if err := decodeMap(raw); err != nil {
				return endpointMeta{}, parseErr(err)
			}
			continue
		}
		dockerFound = true
		if isNull(raw) {
			continue
		}
		var m EndpointMetaBase
		if err := json.Unmarshal(raw, &m); err != nil {
			return endpointMeta{}, parseErr(err)
		}
		docker = &m
	}
	if !dockerFound {
		return endpointMeta{}, errors.New("cannot find docker endpoint in context")
	}
	if docker == nil {
		return endpointMeta{}, errors.New(`endpoint "docker" is not of type EndpointMeta`)
	}
	return endpointMeta(*docker), nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func decodeMap(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var m map[string]any
	return json.Unmarshal(raw, &m)
}

// loadTLS mirrors docker's LoadTLSData for the "docker" endpoint, including
// its failure on unreadable files of other endpoints' directories.
func loadTLS(ep *Endpoint, configDir, name string) error {
	const endpoint = "docker"
	ctxDir := TLSDir(configDir, name)
	wrapList := func(err error) error {
		return fmt.Errorf("failed to retrieve TLS files for context %q: %w", name, err)
	}
	entries, err := os.ReadDir(ctxDir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return wrapList(fmt.Errorf("failed to list TLS files for context %s: %w", name, err))
	}
	var (
		dockerFiles []string
		hasDocker   bool
	)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(ctxDir, e.Name()))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return wrapList(fmt.Errorf("failed to list TLS files for endpoint %s: %w", e.Name(), err))
		}
		if e.Name() != endpoint {
			continue
		}
		hasDocker = true
		for _, f := range files {
			if !f.IsDir() {
				dockerFiles = append(dockerFiles, f.Name())
			}
		}
	}
	if !hasDocker {
		return nil
	}
	ep.HasTLSData = true
	for _, f := range dockerFiles {
		data, err := os.ReadFile(filepath.Join(ctxDir, endpoint, f))
		if err != nil {
			if os.IsNotExist(err) {
				err = fmt.Errorf("TLS data for %s/%s/%s does not exist", name, endpoint, f)
			} else {
				err = fmt.Errorf("failed to read TLS data for endpoint %s: %w", endpoint, err)
			}
			return fmt.Errorf("failed to retrieve TLS data (%s) for context %q: %w", f, name, err)
		}
		switch f {
		case "ca.pem":
			ep.CA = data
		case "cert.pem":
			ep.Cert = data
		case "key.pem":
			ep.Key = data
		default:
			ep.Warnings = append(ep.Warnings, fmt.Sprintf("unknown file in context %s TLS bundle: %s", name, f))
		}
	}
	return nil
}
