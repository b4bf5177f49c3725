package jsonstream

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mybuild/mybuild/internal/golden"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC // golden files hold rendered "time" fields
	os.Exit(m.Run())
}

func TestDisplayGolden(t *testing.T) {
	for _, name := range []string{"build-success", "run-fails", "pull-progress", "bare-error"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "streams", name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var out bytes.Buffer
			var aux []string
			err = Display(context.Background(), f, &out, Options{Strict: true, OnAux: func(r json.RawMessage) { aux = append(aux, string(r)) }})
			errText := "<nil>"
			if err != nil {
				errText = err.Error()
				if se, ok := IsStreamError(err); ok {
					errText += "\ncode: " + strconv.Itoa(se.Code)
				}
			}
			var b bytes.Buffer
			b.WriteString("--- output\n")
			b.Write(out.Bytes())
			b.WriteString("\n--- aux\n" + strings.Join(aux, "\n") + "\n--- error\n" + errText + "\n")
			golden.Assert(t, b.Bytes(), ".txt")
		})
	}
}

func TestDisplayErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, wantErr string
		strict            bool
		wantCode          int
	}{
		{"not json", "hello\n", "invalid character 'h' looking for beginning of value", true, 0},
		{"truncated", `{"stream":"abc`, "unexpected EOF", true, 0},
		{"code zero becomes one", `{"errorDetail":{"message":"boom"}}`, "boom", true, 1},
		{"big code kept", `{"errorDetail":{"code":300,"message":"boom"}}`, "boom", true, 300},
		{"401 is not special", `{"errorDetail":{"code":401,"message":"no"}}`, "no", true, 401},
		{"bare error is a failure in strict mode", `{"error":"bad"}`, "bad", true, 1},
		{"bare error ignored like docker", `{"error":"bad"}`, "", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Display(context.Background(), strings.NewReader(tc.in), &bytes.Buffer{}, Options{Strict: tc.strict})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Errorf("err = %q, want %q", got, tc.wantErr)
			}
			se, _ := IsStreamError(err)
			code := 0
			if se != nil {
				code = se.Code
			}
			if code != tc.wantCode {
				t.Errorf("code = %d, want %d", code, tc.wantCode)
			}
		})
	}
}

func TestProgressReader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		size int
		want string
	}{
		{"only the last update", 3072, "Sending build context to Docker daemon  3.072kB\r\r\n"},
		{"empty", 0, "Sending build context to Docker daemon       0B\r\r\n"},
		{"megabytes", 6004000, "Sending build context to Docker daemon  6.004MB\r\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &ProgressReader{R: bytes.NewReader(make([]byte, tc.size)), Report: FinalLine(&out, "Sending build context to Docker daemon")}
			var sink bytes.Buffer
			if _, err := sink.ReadFrom(p); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStripSGR(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[91merr\n\x1b[0m", "err\n"},
		{"a\x1b[1;31mb\x1b[38:5:208mc\x1b[md", "abcd"},
		{"keep \x1b[2K and \x1b[1A", "keep \x1b[2K and \x1b[1A"},
		{"cut \x1b[31", "cut \x1b[31"},
		{"\x1b[\x1b[0mx", "\x1b[x"},
		{"\x1b]0;title\a", "\x1b]0;title\a"},
	} {
		if got := stripSGR(tc.in); got != tc.want {
			t.Errorf("stripSGR(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDisplayNoColor: NO_COLOR drops the daemon's SGR sequences from the
// plain and the terminal output, and changes nothing else.
func TestDisplayNoColor(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"run-fails", "pull-layers", "build-success"} {
		in := readStream(t, name)
		var plain, stripped bytes.Buffer
		errPlain := Display(context.Background(), bytes.NewReader(in), &plain, Options{Strict: true})
		errStripped := Display(context.Background(), bytes.NewReader(in), &stripped, Options{Strict: true, NoColor: true})
		if diff := cmp.Diff(sgr.ReplaceAllString(plain.String(), ""), stripped.String()); diff != "" {
			t.Errorf("%s: plain with NoColor (-docker's without SGR +got):\n%s", name, diff)
		}
		if name == "run-fails" && !sgr.MatchString(plain.String()) {
			t.Fatal("run-fails should carry the daemon's colours")
		}
		if describeErr(errPlain) != describeErr(errStripped) {
			t.Errorf("%s: error %v, want %v", name, errStripped, errPlain)
		}
		var tty bytes.Buffer
		_ = DisplayTTY(context.Background(), bytes.NewReader(in), &tty, TTYOptions{Options: Options{Strict: true, NoColor: true}, Width: 80, Now: frozenNow})
		if codes := sgr.FindAllString(tty.String(), -1); len(codes) != 0 {
			t.Errorf("%s: terminal output with NoColor and no colour keeps %q", name, codes)
		}
	}
}

// TestProgressReaderReports: a report before the first Read, then one per
// Read with the running total, the Read's count and its error.
func TestProgressReaderReports(t *testing.T) {
	t.Parallel()
	type report struct {
		Total int64
		N     int
		Err   error
	}
	var got []report
	p := &ProgressReader{R: iotest.OneByteReader(strings.NewReader("abc")), Report: func(total int64, n int, err error) {
		got = append(got, report{total, n, err})
	}}
	if _, err := io.ReadAll(p); err != nil {
		t.Fatal(err)
	}
	want := []report{{0, 0, nil}, {1, 1, nil}, {2, 1, nil}, {3, 1, nil}, {3, 0, io.EOF}}
	if diff := cmp.Diff(want, got, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

// dockerBugCases are the differences from docker 28.2.2 that
// FuzzPlainMatchesDocker found, each with what docker does.
var dockerBugCases = []struct {
	name, in string
	want     displayResult
}{
	{
		// mybuild said "authentication is required" with code 1, as older
		// docker releases did; docker 28 does not.
		name: "errorDetail code 401 keeps its message and code",
		in:   `{"stream":"Step 1/1 : FROM private/img\n"}` + "\n" + `{"errorDetail":{"code":401,"message":"unauthorized: login first"}}`,
		want: displayResult{Out: "Step 1/1 : FROM private/img\n", Err: "unauthorized: login first", Code: 401},
	},
	{
		// mybuild said "… Go struct field Message.time …".
		name: "a field of the wrong type is named as docker names it",
		in:   `{"stream":"ok\n"}{"time":"yesterday"}`,
		want: displayResult{Out: "ok\n", Err: "json: cannot unmarshal string into Go struct field JSONMessage.time of type int64"},
	},
	{
		// mybuild said "… Progress.progressDetail.current …".
		name: "a nested field of the wrong type",
		in:   `{"status":"Downloading","progressDetail":{"current":1.5}}`,
		want: displayResult{Err: "json: cannot unmarshal number 1.5 into Go struct field JSONProgress.progressDetail.current of type int64"},
	},
	{
		// mybuild said "… Go value of type jsonstream.Message".
		name: "a line that is not an object",
		in:   `["stream"]`,
		want: displayResult{Err: "json: cannot unmarshal array into Go value of type jsonmessage.JSONMessage"},
	},
}

type displayResult struct {
	Out  string
	Err  string
	Code int // of a *StreamError
}

func TestPlainDockerBugs(t *testing.T) {
	t.Parallel()
	for _, tc := range dockerBugCases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Display(context.Background(), strings.NewReader(tc.in), &out, Options{Strict: true})
			got := displayResult{Out: out.String()}
			if err != nil {
				got.Err = err.Error()
				if se, ok := IsStreamError(err); ok {
					got.Code = se.Code
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Display (-want +got):\n%s", diff)
			}
		})
	}
}

// imageIDCases: docker build reads the image ID by decoding the aux payload
// into its build.Result; the error text is printed after "Failed to parse
// aux message: ", so the type's name shows.
var imageIDCases = []struct {
	aux, id, err string
}{
	{`{"ID":"sha256:0123"}`, "sha256:0123", ""},
	{`{"id":"sha256:lower"}`, "sha256:lower", ""},
	{`{"Digest":"x"}`, "", ""},
	{`null`, "", ""},
	{`{"ID":5}`, "", "json: cannot unmarshal number into Go struct field Result.ID of type string"},
	{`[1,2]`, "", "json: cannot unmarshal array into Go value of type build.Result"},
	{`"sha256:0123"`, "", "json: cannot unmarshal string into Go value of type build.Result"},
}

func TestImageID(t *testing.T) {
	t.Parallel()
	for _, tc := range imageIDCases {
		id, err := ImageID(json.RawMessage(tc.aux))
		got := struct{ ID, Err string }{ID: id}
		if err != nil {
			got.Err = err.Error()
		}
		if diff := cmp.Diff(struct{ ID, Err string }{tc.id, tc.err}, got); diff != "" {
			t.Errorf("ImageID(%s) (-want +got):\n%s", tc.aux, diff)
		}
	}
}
