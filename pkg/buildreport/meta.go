package buildreport

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"time"
)

const metaVersion = 1

// meta is what a record keeps of a build besides its files. It holds no
// file contents, no secret and no value of a secret-looking build arg.
type meta struct {
	Version    int                `json:"version"`
	Context    string             `json:"context,omitempty"`
	Dockerfile string             `json:"dockerfile,omitempty"`
	Builder    string             `json:"builder,omitempty"`
	Time       time.Time          `json:"time"`
	Files      bool               `json:"files"` // the record lists the context's files
	Steps      []metaStep         `json:"steps,omitempty"`
	Salt       string             `json:"salt"`
	Args       map[string]metaArg `json:"args,omitempty"`
	Target     string             `json:"target,omitempty"`
	Platforms  []string           `json:"platforms,omitempty"`
	Bases      map[string]string  `json:"bases,omitempty"`
}

type metaStep struct {
	Stage  string `json:"stage,omitempty"`
	Text   string `json:"text"`
	Cached bool   `json:"cached,omitempty"`
}

// metaArg keeps a build arg's value only when it does not look secret;
// the salted hash tells a change either way.
type metaArg struct {
	Value string `json:"value,omitempty"`
	Hash  string `json:"hash"`
}

func newMeta(id Identity, b Build, files bool) *meta {
	var salt [16]byte
	rand.Read(salt[:])
	m := &meta{
		Version: metaVersion, Dockerfile: id.Dockerfile, Builder: id.Builder,
		Time: b.Started.UTC(), Files: files, Salt: hex.EncodeToString(salt[:]),
		Target: b.Target, Platforms: b.Platforms, Bases: b.Bases,
	}
	if id.ContextDir != "" {
		m.Context, _ = filepath.Abs(id.ContextDir)
	}
	for _, s := range b.Steps {
		m.Steps = append(m.Steps, metaStep{Stage: s.Stage, Text: s.Text, Cached: s.Cached})
	}
	for k, v := range b.Args {
		if m.Args == nil {
			m.Args = map[string]metaArg{}
		}
		a := metaArg{Hash: argHash(m.Salt, k, v)}
		if !LooksSecret(k, v) {
			a.Value = v
		}
		m.Args[k] = a
	}
	return m
}

func argHash(salt, name, value string) string {
	sum := sha256.Sum256([]byte(salt + "\x00" + name + "\x00" + value))
	return hex.EncodeToString(sum[:16])
}
