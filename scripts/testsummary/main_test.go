package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "example.com/m"

// stream encodes events as go test -json does, one a line.
func stream(t *testing.T, events ...event) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		if e.Package != "" {
			e.Package = module + "/" + e.Package
		}
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func out(pkg, test, text string) event {
	return event{Action: "output", Package: pkg, Test: test, Output: text}
}

func act(action, pkg, test string) event { return event{Action: action, Package: pkg, Test: test} }

// skipped is a test that printed its skip reason.
func skipped(pkg, test, reason string) []event {
	return []event{
		act("run", pkg, test),
		out(pkg, test, "=== RUN   "+test+"\n"),
		out(pkg, test, "    x_test.go:9: "+reason+"\n"),
		out(pkg, test, "--- SKIP: "+test+" (0.00s)\n"),
		act("skip", pkg, test),
	}
}

func passed(pkg, test string) []event {
	return []event{act("run", pkg, test), out(pkg, test, "=== RUN   "+test+"\n"), out(pkg, test, "--- PASS: "+test+" (0.00s)\n"), act("pass", pkg, test)}
}

func pkgEnd(pkg, action string) []event {
	word := map[string]string{"pass": "ok  ", "fail": "FAIL"}[action]
	return []event{out(pkg, "", strings.ToUpper(action)+"\n"), out(pkg, "", word+"\t"+module+"/"+pkg+"\t0.1s\n"), act(action, pkg, "")}
}

func join(groups ...[]event) []event {
	var all []event
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

func TestRun(t *testing.T) {
	t.Parallel()
	const allow = "# comment\n\npkg/a TestAllowed needs root\n"
	for _, tc := range []struct {
		name       string
		events     []event
		wantStatus int
		wantOut    string
	}{
		{
			name:       "allowed skip",
			events:     join(passed("pkg/a", "TestOne"), skipped("pkg/a", "TestAllowed", "not root"), pkgEnd("pkg/a", "pass")),
			wantStatus: 0,
			wantOut: "ok  \texample.com/m/pkg/a\t0.1s\n" +
				"== tests per package (tests and subtests)\n" +
				"package     ran  skipped\n" +
				"pkg/a         1        1\n" +
				"total         1        1\n" +
				"== skipped\n" +
				"pkg/a TestAllowed: x_test.go:9: not root\n",
		},
		{
			name: "unexpected skip of a subtest fails",
			events: join(
				[]event{act("run", "pkg/b", "TestT"), out("pkg/b", "TestT", "=== RUN   TestT\n")},
				skipped("pkg/b", "TestT/sub", "no docker CLI"),
				passed("pkg/b", "TestT"),
				pkgEnd("pkg/b", "pass")),
			wantStatus: 1,
			wantOut: "ok  \texample.com/m/pkg/b\t0.1s\n" +
				"== tests per package (tests and subtests)\n" +
				"package     ran  skipped\n" +
				"pkg/b         1        1\n" +
				"total         1        1\n" +
				"== skipped\n" +
				"UNEXPECTED pkg/b TestT/sub: x_test.go:9: no docker CLI\n" +
				"note: pkg/a TestAllowed is in the allow-list but did not skip\n" +
				"FAIL: 1 unexpected skip(s); fix the environment or the test, or add it to the allow-list with the reason\n",
		},
		{
			name: "a failed test's output is printed, a passing one's is not",
			events: join(
				[]event{act("run", "pkg/a", "TestBad"), out("pkg/a", "TestBad", "=== RUN   TestBad\n"), out("pkg/a", "TestBad", "    x_test.go:3: boom\n"), out("pkg/a", "TestBad", "--- FAIL: TestBad (0.00s)\n"), act("fail", "pkg/a", "TestBad")},
				[]event{act("run", "pkg/a", "TestGood"), out("pkg/a", "TestGood", "    x_test.go:5: chatter\n"), act("pass", "pkg/a", "TestGood")},
				skipped("pkg/a", "TestAllowed", "not root"),
				pkgEnd("pkg/a", "fail")),
			wantStatus: 1,
			wantOut: "    x_test.go:3: boom\n--- FAIL: TestBad (0.00s)\n" +
				"FAIL\nFAIL\texample.com/m/pkg/a\t0.1s\n" +
				"== tests per package (tests and subtests)\n" +
				"package     ran  skipped\n" +
				"pkg/a         2        1\n" +
				"total         2        1\n" +
				"== skipped\n" +
				"pkg/a TestAllowed: x_test.go:9: not root\n" +
				"FAIL: some tests failed\n",
		},
		{
			name: "a package whose binary failed outside a test fails",
			events: join(
				[]event{act("run", "pkg/a", "TestHung"), out("pkg/a", "TestHung", "panic: test timed out after 1s\n")},
				pkgEnd("pkg/a", "fail")),
			wantStatus: 1,
			wantOut: "FAIL\n" +
				"FAIL\texample.com/m/pkg/a\t0.1s\n" +
				"panic: test timed out after 1s\n" +
				"== tests per package (tests and subtests)\n" +
				"package     ran  skipped\n" +
				"pkg/a         0        0\n" +
				"total         0        0\n" +
				"note: pkg/a TestAllowed is in the allow-list but did not skip\n" +
				"FAIL: some tests failed\n",
		},
		{
			name:       "a build failure fails",
			events:     []event{{Action: "build-output", ImportPath: "example.com/m/pkg/c", Output: "x.go:1: syntax error\n"}, {Action: "build-fail", ImportPath: "example.com/m/pkg/c"}},
			wantStatus: 1,
			wantOut: "x.go:1: syntax error\n" +
				"== tests per package (tests and subtests)\n" +
				"package     ran  skipped\n" +
				"total         0        0\n" +
				"note: pkg/a TestAllowed is in the allow-list but did not skip\n" +
				"FAIL: some tests failed\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			allowPath := filepath.Join(t.TempDir(), "allow.txt")
			if err := os.WriteFile(allowPath, []byte(allow), 0o644); err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			status := run(strings.NewReader(stream(t, tc.events...)), &b, allowPath, module)
			if diff := cmp.Diff(tc.wantOut, b.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d", status, tc.wantStatus)
			}
		})
	}
}

func TestParseAllowList(t *testing.T) {
	t.Parallel()
	got, err := parseAllowList(strings.NewReader("# c\npkg/a TestX/sub one two\n\n  e2e TestY why  \n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[testID]string{{"pkg/a", "TestX/sub"}: "one two", {"e2e", "TestY"}: "why"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(testID{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := parseAllowList(strings.NewReader("pkg/a TestNoReason\n")); err == nil || err.Error() != "line 1: want a package, a test and the reason it may skip" {
		t.Errorf("entry without a reason: err = %v", err)
	}
}

// TestAllowListOfTheRepository: the repository's own list parses.
func TestAllowListOfTheRepository(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("..", "allowed-skips.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := parseAllowList(f); err != nil {
		t.Fatal(err)
	}
}
