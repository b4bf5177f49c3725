package jsonstream

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDisplay feeds fuzzed daemon streams to both renderers. Neither may
// panic; they must fail the same way (same message, same exit code) and
// hand the same aux payloads over; plain output must be written as the
// stream comes (what is printed for a stream's first complete lines is a
// prefix of what is printed for the whole stream); and a progress line of
// the terminal renderer must fit the width it was given.
func FuzzDisplay(f *testing.F) {
	for _, b := range streamSeeds(f) {
		f.Add(b, uint8(120), true)
	}
	for _, s := range []string{
		`{"status":"Downloading","id":"abc","progressDetail":{"current":-5,"total":10}}`,
		`{"status":"Downloading","id":"abc","progressDetail":{"current":5e30,"total":1}}`,
		`{"status":"Extracting","progressDetail":{"current":3,"total":10,"start":1},"id":"x"}` + "\n" + `{"stream":"partial"}`,
		`{"aux":{"ID":"sha256:1"}}{"aux":[1,2]}{"errorDetail":{"code":0,"message":"m"}}`,
		`{"errorDetail":{"code":401}}`, `{"error":"bare"}`, `null`, `{"stream":"\u001b[91mx\n\u001b[0m"}`, `not json`, `{"id":`,
	} {
		f.Add([]byte(s), uint8(80), false)
	}
	f.Fuzz(func(t *testing.T, stream []byte, width uint8, color bool) {
		var plainAux, ttyAux [][]byte
		var plain bytes.Buffer
		perr := Display(context.Background(), bytes.NewReader(stream), &plain, Options{
			Strict: color, OnAux: func(m json.RawMessage) { plainAux = append(plainAux, m) },
		})
		now := func() time.Time { return time.Unix(1700000000, 0) }
		terr := DisplayTTY(context.Background(), bytes.NewReader(stream), io.Discard, TTYOptions{
			Options: Options{Strict: color, OnAux: func(m json.RawMessage) { ttyAux = append(ttyAux, m) }},
			Width:   int(width), Color: color, Now: now,
		})
		if (perr == nil) != (terr == nil) || perr != nil && perr.Error() != terr.Error() {
			t.Fatalf("Display: %v; DisplayTTY: %v", perr, terr)
		}
		pse, pok := IsStreamError(perr)
		tse, tok := IsStreamError(terr)
		if pok != tok || pok && (pse.Code != tse.Code || pse.Code == 0) {
			t.Fatalf("stream errors differ or exit 0: %+v, %+v", pse, tse)
		}
		if len(plainAux) != len(ttyAux) {
			t.Fatalf("aux payloads: %d and %d", len(plainAux), len(ttyAux))
		}
		for i := range plainAux {
			if !bytes.Equal(plainAux[i], ttyAux[i]) {
				t.Fatalf("aux %d: %q and %q", i, plainAux[i], ttyAux[i])
			}
		}

		// Output as it comes: each run of whole lines renders to a prefix.
		for i := 0; i < len(stream); i++ {
			if stream[i] != '\n' {
				continue
			}
			var head bytes.Buffer
			if err := Display(context.Background(), bytes.NewReader(stream[:i+1]), &head, Options{Strict: color}); err != nil {
				break
			}
			if !bytes.HasPrefix(plain.Bytes(), head.Bytes()) {
				t.Fatalf("the output for the first %d bytes, %q, does not start the whole stream's output %q", i+1, head.Bytes(), plain.Bytes())
			}
		}

		// Progress lines are cut to the width (color off: no escapes of
		// ours to count).
		if width == 0 {
			return
		}
		r := newTTYRenderer(io.Discard, TTYOptions{Width: int(width), Now: now})
		dec := json.NewDecoder(bytes.NewReader(stream))
		for {
			var m Message
			if err := dec.Decode(&m); err != nil {
				return
			}
			if m.Progress == nil || m.Stream != "" {
				continue
			}
			if line := r.renderProgressLine(&m); utf8.RuneCountInString(line) > r.limit {
				t.Fatalf("width %d: a progress line of %d runes: %q", width, utf8.RuneCountInString(line), line)
			}
		}
	})
}

// streamSeeds returns the recorded streams in testdata/streams.
func streamSeeds(f *testing.F) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "streams", "*.jsonl"))
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// TestDisplayTTYOddProgress: numbers a daemon should never send (negative,
// or beyond int64 once scaled) still render without a panic.
func TestDisplayTTYOddProgress(t *testing.T) {
	for _, s := range []string{
		`{"status":"Downloading","id":"a","progressDetail":{"current":-5,"total":10}}`,
		`{"status":"Downloading","id":"a","progressDetail":{"current":9223372036854775807,"total":1}}`,
		`{"status":"Downloading","id":"a","progressDetail":{"current":1,"total":9223372036854775807,"start":1}}`,
	} {
		var out bytes.Buffer
		if err := DisplayTTY(context.Background(), bytes.NewReader([]byte(s)), &out, TTYOptions{Width: 200}); err != nil {
			t.Errorf("%s: %v", s, err)
		}
		if !bytes.Contains(out.Bytes(), []byte("a: Downloading")) {
			t.Errorf("%s: output %q", s, out.Bytes())
		}
	}
}
