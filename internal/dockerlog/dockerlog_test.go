package dockerlog

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFormat: the lines docker 28.2.2 printed on a terminal for a
// socket in the context and a credential helper that is not installed,
// with the time left out.
func TestFormat(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	Error(&b, "Can't add file /tmp/c/s.sock to tar: archive/tar: sockets not supported")
	New(&b).WithError(errors.New(`error getting credentials - err: exec: "docker-credential-x": executable file not found in $PATH, out: `+"``")).
		Warnf("Failed to get credentials for registry: %s", "reg.example.com")
	Warn(&b, "plain")
	got := regexp.MustCompile(`(?m)^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)" `).ReplaceAllString(b.String(), `time="T" `)
	want := `time="T" level=error msg="Can't add file /tmp/c/s.sock to tar: archive/tar: sockets not supported"` + "\n" +
		`time="T" level=warning msg="Failed to get credentials for registry: reg.example.com" error="error getting credentials - err: exec: \"docker-credential-x\": executable file not found in $PATH, out: ` + "``" + `"` + "\n" +
		`time="T" level=warning msg=plain` + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
