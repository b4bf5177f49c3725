package enginetest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// streams holds JSON-lines bodies recorded from a real Engine 20.10.24
// daemon (see testdata/streams/README.md for how they were made).
//
//go:embed testdata/streams/*.jsonl testdata/streams/*.json
var streams embed.FS

// DefaultImageID is the image ID of the default success stream.
const DefaultImageID = "sha256:2ad6da763d973875d2b547d1052202d28f62b91acca7db64c9731912702fd491"

// RecordedStreams lists the names accepted by RecordedStream and
// WithRecordedStream, sorted.
func RecordedStreams() []string {
	ents, _ := fs.ReadDir(streams, "testdata/streams")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// RecordedStream returns a recorded body by file name, e.g. "label.jsonl",
// "quiet.jsonl", "copy-missing.jsonl", "run-exit3.jsonl" or
// "parse-error.json" (the 400 body for a Dockerfile parse error).
func RecordedStream(name string) ([]byte, error) {
	b, err := streams.ReadFile(path.Join("testdata/streams", name))
	if err != nil {
		return nil, fmt.Errorf("enginetest: no recorded stream %q (have %s)", name, strings.Join(RecordedStreams(), ", "))
	}
	return b, nil
}

// DefaultStream is the body of the default /build answer for the given
// query: what Engine 20.10 sends for `FROM scratch` + one LABEL step, i.e.
// testdata/streams/label.jsonl, followed by one "Successfully tagged" line
// per t= value (a reference without a tag gets ":latest", as the daemon
// reports it). With q=1 it is the quiet answer: only the image ID.
func DefaultStream(quiet bool, tags []string) []byte {
	if quiet {
		return streamLine(DefaultImageID + "\n")
	}
	b, err := RecordedStream("label.jsonl")
	if err != nil {
		panic(err) // embedded at build time
	}
	b = bytes.Clone(b)
	for _, t := range tags {
		b = append(b, streamLine("Successfully tagged "+normalizeTag(t)+"\n")...)
	}
	return b
}

// streamLine encodes one {"stream": s} message the way the daemon does:
// HTML characters escaped, terminated by CRLF.
func streamLine(s string) []byte {
	b, _ := json.Marshal(struct {
		Stream string `json:"stream"`
	}{s})
	return append(b, '\r', '\n')
}

// normalizeTag adds ":latest" to a reference without a tag or digest, as the
// daemon does when it reports the tags it set.
func normalizeTag(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	if strings.Contains(last, ":") {
		return ref
	}
	return ref + ":latest"
}
