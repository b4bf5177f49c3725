// Package buildxstore reads buildx's builder store, the directory that
// `docker buildx create` and `docker buildx use` write ($BUILDX_CONFIG, else
// the buildx folder of docker's configuration directory): the builder
// instances, the current one per docker endpoint, and per-endpoint
// defaults. It only reads; mybuild never changes a builder.
package buildxstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// NodeGroup is one builder instance.
type NodeGroup struct {
	Name    string
	Driver  string
	Nodes   []Node
	Dynamic bool
}

// Node is one BuildKit endpoint of a builder.
type Node struct {
	Name           string
	Endpoint       string
	Platforms      []ocispecs.Platform
	DriverOpts     map[string]string
	BuildkitdFlags []string `json:"Flags"`
	Files          map[string][]byte
}

// Store is a buildx state directory.
type Store struct{ dir string }

// Open returns the store in dir (which need not exist).
func Open(dir string) *Store { return &Store{dir: dir} }

var namePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\.\-_]*$`)

// InvalidNameError is a builder name buildx would not have saved.
type InvalidNameError struct{ Name string }

func (e *InvalidNameError) Error() string {
	return fmt.Sprintf("invalid name %s, name needs to start with a letter and may not contain symbols, except ._-", e.Name)
}

// NodeGroup reads the instance name (case-insensitive, as buildx saves it
// lower-cased). A missing one is an error that errors.Is(os.ErrNotExist).
func (s *Store) NodeGroup(name string) (*NodeGroup, error) {
	if !namePattern.MatchString(name) {
		return nil, &InvalidNameError{Name: name}
	}
	dt, err := os.ReadFile(filepath.Join(s.dir, "instances", strings.ToLower(name)))
	if err != nil {
		return nil, err
	}
	var ng NodeGroup
	if err := json.Unmarshal(dt, &ng); err != nil {
		return nil, fmt.Errorf("reading builder %s: %w", name, err)
	}
	return &ng, nil
}

type current struct {
	Key    string
	Name   string
	Global bool
}

// Current is the builder `docker buildx use` chose for the docker endpoint
// key (a context name, or the default context's host): the global choice,
// else the choice made for key, else key's default (`use --default`). It
// returns nil when none is set or the one named is gone.
func (s *Store) Current(key string) (*NodeGroup, error) {
	dt, err := os.ReadFile(filepath.Join(s.dir, "current"))
	if err == nil {
		var c current
		if err := json.Unmarshal(dt, &c); err != nil {
			return nil, err
		}
		if c.Name != "" {
			if c.Global {
				if ng, err := s.NodeGroup(c.Name); err == nil {
					return ng, nil
				}
			}
			if c.Key == key {
				if ng, err := s.NodeGroup(c.Name); err == nil {
					return ng, nil
				}
				return nil, nil
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	dt, err = os.ReadFile(filepath.Join(s.dir, "defaults", digest.FromString(key).Encoded()[:20]))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	ng, err := s.NodeGroup(string(dt))
	if err != nil {
		return nil, nil
	}
	return ng, nil
}
