package jsonstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	buildtypes "github.com/docker/docker/api/types/build"
	"github.com/docker/docker/pkg/jsonmessage"
)

// The oracle is docker's own renderer, github.com/docker/docker
// v28.2.2+incompatible pkg/jsonmessage: the module the docker CLI 28.2.2
// vendors (its vendor.mod pins the same commit, 45873be4ae3f, as a
// pseudo-version). It is a test-only dependency: no non-test file of this
// module imports it.

// notATerminal is the descriptor handed to docker's renderer. Its width
// lookup fails, so docker assumes 200 columns: what a build gets when its
// stdin is not a terminal (docker build asks descriptor 0 for the width,
// even though its output is always rendered as non-terminal).
const notATerminal = ^uintptr(0)

// dockerPlain renders stream as docker build does: non-terminal mode, aux
// messages to the callback. A panic in docker's code (it has some, on
// numbers no daemon sends) is returned as panicked.
func dockerPlain(stream []byte) (out []byte, aux []string, err error, panicked any) {
	var b bytes.Buffer
	defer func() {
		if p := recover(); p != nil {
			out, panicked = b.Bytes(), p
		}
	}()
	err = jsonmessage.DisplayJSONMessagesStream(bytes.NewReader(stream), &b, notATerminal, false, func(m jsonmessage.JSONMessage) {
		aux = append(aux, string(*m.Aux))
	})
	return b.Bytes(), aux, err, nil
}

// bareErrorCut finds the first message docker would render (not aux, read
// before anything that ends docker's loop) that has "error" but no
// "errorDetail". It returns the offset at which that message starts and its
// error text, or ok=false.
func bareErrorCut(stream []byte) (cut int, msg string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(stream))
	for {
		off := dec.InputOffset()
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			return 0, "", false
		}
		switch {
		case m.Aux != nil:
		case m.Error != nil:
			return 0, "", false
		case m.ErrorMessage != "":
			return int(off), m.ErrorMessage, true
		}
	}
}

// wantFromDocker is what Display must do with stream, by docker's code.
type wantFromDocker struct {
	out      []byte
	aux      []string
	err      string // "" for none
	code     int    // StreamError code; 0 when the error is not a StreamError
	panicked any
}

func expectDocker(stream []byte, strict bool) wantFromDocker {
	// The one deliberate difference in this package (README, "Where
	// mybuild deliberately differs from docker"): with Strict, a message
	// with "error" but no "errorDetail" ends the build with that text and
	// code 1, where docker ignores it and goes on. So docker's answer is
	// then the one for the stream up to that message, plus that failure.
	if strict {
		if cut, msg, ok := bareErrorCut(stream); ok {
			w := expectDocker(stream[:cut], false)
			if w.err == "" && w.panicked == nil {
				w.err, w.code = msg, 1
			}
			return w
		}
	}
	out, aux, err, p := dockerPlain(stream)
	w := wantFromDocker{out: out, aux: aux, panicked: p}
	if err != nil {
		w.err = err.Error()
		if je, ok := err.(*jsonmessage.JSONError); ok {
			// Not a difference: docker build turns a JSONError's code 0
			// into exit status 1 (cli/command/image/build.go); Display
			// hands over the code the exit status is made from.
			w.code = je.Code
			if w.code == 0 {
				w.code = 1
			}
		}
	}
	return w
}

// checkPlainMatchesDocker renders stream with Display and with docker's
// code and reports every difference.
func checkPlainMatchesDocker(t *testing.T, stream []byte, strict bool) {
	t.Helper()
	want := expectDocker(stream, strict)
	if want.panicked != nil {
		// docker build crashes (a Go panic, exit 2) where Display goes on;
		// only the output before the crash can be compared.
		var out bytes.Buffer
		_ = Display(context.Background(), bytes.NewReader(stream), &out, Options{Strict: strict})
		if !bytes.HasPrefix(out.Bytes(), want.out) {
			t.Fatalf("docker panicked (%v) after printing %q; Display printed %q", want.panicked, want.out, out.Bytes())
		}
		return
	}
	var out bytes.Buffer
	var aux []string
	err := Display(context.Background(), bytes.NewReader(stream), &out, Options{
		Strict: strict, OnAux: func(m json.RawMessage) { aux = append(aux, string(m)) },
	})
	if !bytes.Equal(out.Bytes(), want.out) {
		t.Errorf("output differs from docker's:\nmybuild: %q\ndocker:  %q", out.Bytes(), want.out)
	}
	if strings.Join(aux, "\x00") != strings.Join(want.aux, "\x00") || len(aux) != len(want.aux) {
		t.Errorf("aux payloads differ:\nmybuild: %q\ndocker:  %q", aux, want.aux)
	}
	for _, a := range want.aux {
		checkImageIDMatchesDocker(t, []byte(a))
	}
	gotErr, gotCode := "", 0
	if err != nil {
		gotErr = err.Error()
		if se, ok := IsStreamError(err); ok {
			gotCode = se.Code
		}
	}
	if (err != nil) != (want.err != "" || want.code != 0) || gotErr != want.err || gotCode != want.code {
		t.Errorf("error differs from docker's:\nmybuild: %q (code %d)\ndocker:  %q (code %d)", gotErr, gotCode, want.err, want.code)
	}
}

// checkImageIDMatchesDocker requires ImageID to read aux as docker build
// does (cli/command/image/build.go: json.Unmarshal into build.Result).
func checkImageIDMatchesDocker(t *testing.T, aux []byte) {
	t.Helper()
	var r buildtypes.Result
	wantErr := ""
	if err := json.Unmarshal(aux, &r); err != nil {
		r.ID, wantErr = "", err.Error()
	}
	want := r.ID
	got, err := ImageID(aux)
	gotErr := ""
	if err != nil {
		gotErr = err.Error()
	}
	if got != want || gotErr != wantErr {
		t.Errorf("ImageID(%q) = %q, %q; docker: %q, %q", aux, got, gotErr, want, wantErr)
	}
}

// FuzzPlainMatchesDocker requires Display (the plain renderer) to print the
// same bytes as docker's jsonmessage.DisplayJSONMessagesStream in
// non-terminal mode, hand over the same aux payloads (and ImageID to read
// each as docker build does) and fail with the same error, save for the
// deliberate difference above.
func FuzzPlainMatchesDocker(f *testing.F) {
	for _, b := range streamSeeds(f) {
		f.Add(b, true)
		f.Add(b, false)
	}
	for _, s := range oracleSeeds() {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, stream []byte, strict bool) {
		checkPlainMatchesDocker(t, stream, strict)
	})
}

func oracleSeeds() []string {
	seeds := []string{
		// progress: with and without total, current > total, negative,
		// units, hidecounts, start, the old preformatted "progress"
		`{"status":"Downloading","id":"a1","progressDetail":{"current":5,"total":10}}`,
		`{"status":"Downloading","id":"a1","progressDetail":{"current":5}}`,
		`{"status":"Downloading","id":"a1","progressDetail":{"current":50,"total":10}}`,
		`{"status":"Downloading","id":"a1","progressDetail":{"current":-5,"total":-10}}`,
		`{"status":"Downloading","id":"a1","progressDetail":{"current":-5,"total":10}}`,
		`{"status":"Downloading","id":"a1","progressDetail":{"current":0,"total":0}}`,
		`{"status":"Downloading","id":"a1","progressDetail":{}}`,
		`{"status":"Downloading","id":"a1","progressDetail":null}`,
		`{"status":"Waiting","id":"a1","progressDetail":{"units":"items","hidecounts":true,"total":3,"start":1}}`,
		`{"status":"Pulling fs layer","id":"a1","progressDetail":{},"progress":"[==>   ] 1B/2B"}`,
		`{"status":"Verifying","progress":"[==>   ] 1B/2B"}`,
		`{"status":"Downloading","id":"a1","progressDetail":{"current":9223372036854775807,"total":1}}`,
		// status with and without id
		`{"status":"Pulling from library/busybox","id":"latest"}` + "\n" + `{"status":"Digest: sha256:abc"}`,
		`{"status":""}`, `{}`, `{"id":"x"}`,
		// stream with \r, without a trailing newline, empty
		`{"stream":"Sending\r50%\rdone"}`, `{"stream":"no newline"}{"stream":""}{"stream":"\n"}`,
		`{"stream":"s","status":"st","id":"i"}`,
		// aux
		`{"aux":{"ID":"sha256:0123"}}`, `{"aux":null,"stream":"after null aux\n"}`, `{"aux":"x","errorDetail":{"message":"in aux"}}`,
		`{"aux":[1,2],"error":"bare in aux"}`, `{"aux":{"ID":5}}`, `{"aux":{"id":"lower","ID":"upper"}}`, `{"aux":"sha256:0123"}`,
		// time, timeNano, from
		`{"status":"create","id":"c1","from":"busybox","time":1700000000}`,
		`{"status":"create","id":"c1","from":"busybox","time":1700000000,"timeNano":1700000000123456789}`,
		`{"status":"x","time":-1}`, `{"status":"x","timeNano":-9223372036854775808}`, `{"stream":"t\n","time":253402300800}`,
		// errors
		`{"errorDetail":{"code":0,"message":"zero"}}`, `{"errorDetail":{"code":401,"message":"unauthorized"}}`,
		`{"errorDetail":{"code":256,"message":"m"}}`, `{"errorDetail":{"code":-1,"message":"m"}}`, `{"errorDetail":{}}`,
		`{"errorDetail":null,"error":"bare"}`, `{"error":"bare"}` + "\n" + `{"stream":"after\n"}`,
		`{"error":""}`, `{"stream":"before\n","errorDetail":{"message":"with stream"}}`,
		// unicode, escapes, bad input
		`{"stream":"h\u00e9llo \u4e16\u754c \ud83d\ude00\n"}`, `{"stream":"\ud800 lone surrogate\n"}`,
		"{\"stream\":\"raw \xff\xfe bytes\\n\"}", "\xef\xbb\xbf{\"stream\":\"bom\"}",
		`{"stream":1}`, `{"time":"x"}`, `{"progressDetail":{"current":"x"}}`, `{"errorDetail":{"code":"x"}}`,
		`{"progressDetail":{"current":1e3}}`, `{"time":1.5}`, `[1]`, `"s"`, `null`, `{"stream":"a"} junk`, `{"stream":"a"`,
		`{"Stream":"case-insensitive key\n"}`, `{"stream":"dup\n","stream":"licate\n"}`, "  \n\t", "",
	}
	// A huge line: larger than the 64 KiB read buffer.
	seeds = append(seeds, fmt.Sprintf(`{"stream":"%s\n"}`, strings.Repeat("x", 65<<10)))
	return seeds
}

// TestImageIDOracle checks TestImageID's expectations against docker's
// own type.
func TestImageIDOracle(t *testing.T) {
	for _, tc := range imageIDCases {
		checkImageIDMatchesDocker(t, []byte(tc.aux))
	}
}

// TestPlainDockerBugsOracle checks TestPlainDockerBugs' expectations
// against docker's own code.
func TestPlainDockerBugsOracle(t *testing.T) {
	for _, tc := range dockerBugCases {
		t.Run(tc.name, func(t *testing.T) {
			checkPlainMatchesDocker(t, []byte(tc.in), true)
			checkPlainMatchesDocker(t, []byte(tc.in), false)
		})
	}
}
