package dockerconfig

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
)

// storeHelper is docker-credential-store: three entries; a server whose
// name starts with "fail" makes get fail, "gone" is not found.
const storeHelper = `#!/bin/sh
case "$1" in
list)
  [ -e "$(dirname "$0")/list-fails" ] && { echo "list broke" >&2; exit 1; }
  printf '%s' "${LIST:-{\"hub.example.com\":\"u\",\"tok.example.com\":\"<token>\",\"mail.example.com\":\"m\"}}" ;;
get)
  read -r server
  case "$server" in
  fail*) echo "helper exploded"; exit 1 ;;
  gone*) echo "credentials not found in native keychain"; exit 1 ;;
  tok*) printf '{"ServerURL":"%s","Username":"<token>","Secret":"t-%s"}' "$server" "$server" ;;
  *) printf '{"ServerURL":"%s","Username":"u-%s","Secret":"p-%s"}' "$server" "$server" "$server" ;;
  esac ;;
*) exit 1 ;;
esac
`

func installHelper(t *testing.T, name, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func loadConfig(t *testing.T, js string) *configfile.ConfigFile {
	t.Helper()
	f := configfile.New(filepath.Join(t.TempDir(), "config.json"))
	if err := f.LoadFromReader(strings.NewReader(js)); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestAllCredentialsMatchesDocker: the concurrent lookup returns what
// docker/cli's own sequential GetAllCredentials returns (nil where it
// fails: the build then sends "{}").
func TestAllCredentialsMatchesDocker(t *testing.T) {
	tests := []struct {
		name, config string
		listFails    bool
		list         string
	}{
		{name: "auths only", config: `{"auths":{"a.example.com":{"auth":"dXNlcjpwYXNz","email":"e@x"},"b.example.com":{"identitytoken":"it"}}}`},
		{name: "credsStore, email kept from auths", config: `{"credsStore":"store","auths":{"mail.example.com":{"email":"m@x"},"only-file.example.com":{"auth":"dXNlcjpwYXNz"}}}`},
		{name: "credsStore with many entries", config: `{"credsStore":"store"}`,
			list: `{"r1.example.com":"u","r2.example.com":"u","r3.example.com":"u","r4.example.com":"u","r5.example.com":"u","r6.example.com":"u","r7.example.com":"u","r8.example.com":"u","r9.example.com":"u","r10.example.com":"u","tok1.example.com":"<token>","gone.example.com":"x"}`},
		{name: "credsStore get fails", config: `{"credsStore":"store","credHelpers":{"x.example.com":"store"}}`,
			list: `{"hub.example.com":"u","fail.example.com":"u"}`},
		{name: "credsStore list fails", config: `{"credsStore":"store","credHelpers":{"x.example.com":"store"}}`, listFails: true},
		{name: "credHelpers override the store", config: `{"credsStore":"store","credHelpers":{"hub.example.com":"store","tok2.example.com":"store","gone.example.com":"store","fail.example.com":"store","new.example.com":"store"}}`},
		{name: "credHelpers beside auths", config: `{"auths":{"a.example.com":{"auth":"dXNlcjpwYXNz"},"h1.example.com":{"email":"e@x"}},"credHelpers":{"h1.example.com":"store","h2.example.com":"store","failing.example.com":"store"}}`},
		{name: "credHelpers naming a missing helper", config: `{"credHelpers":{"h.example.com":"nosuchhelper"}}`},
		{name: "credHelpers entry found in auths by host name", config: `{"auths":{"https://h1.example.com/v1/":{"email":"e@x"},"http://h2.example.com":{"auth":"dXNlcjpwYXNz"}},"credHelpers":{"h1.example.com":"store","h2.example.com":"store"}}`},
		{name: "credHelpers entry with no helper name", config: `{"auths":{"https://h.example.com/v1/":{"auth":"dXNlcjpwYXNz"}},"credHelpers":{"h.example.com":"","x.example.com":""}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := installHelper(t, "store", storeHelper)
			if tt.listFails {
				if err := os.WriteFile(filepath.Join(dir, "list-fails"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.list != "" {
				t.Setenv("LIST", tt.list)
			}
			want, err := loadConfig(t, tt.config).GetAllCredentials()
			if err != nil {
				want = nil
			}
			got := allCredentials(context.Background(), loadConfig(t, tt.config), discardLogger())
			if len(want) == 0 && len(got) == 0 {
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("credentials (-docker/cli +mybuild):\n%s", diff)
			}
		})
	}
}

// waitForPeer answers get only once another get runs at the same time
// (each call leaves a file and waits up to 10 s for a second one); a
// sequential caller gets "alone" as the secret of every entry.
const waitForPeer = `#!/bin/sh
dir=$(dirname "$0")
read -r server
touch "$dir/running.$$"
secret=alone
i=0
while [ $i -lt 200 ]; do
  if [ "$(ls "$dir" | grep -c '^running\.')" -ge 2 ]; then secret=together; break; fi
  sleep 0.05; i=$((i+1))
done
printf '{"ServerURL":"%s","Username":"u","Secret":"%s"}' "$server" "$secret"
sleep 0.2
rm -f "$dir/running.$$"
`

// TestAllCredentialsConcurrent: the helpers of several registries run at
// the same time (docker runs them one after another).
func TestAllCredentialsConcurrent(t *testing.T) {
	installHelper(t, "peer", waitForPeer)
	got := allCredentials(context.Background(), loadConfig(t, `{"credHelpers":{"a.example.com":"peer","b.example.com":"peer","c.example.com":"peer"}}`), discardLogger())
	for _, host := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		if got[host] != (types.AuthConfig{Username: "u", Password: "together", ServerAddress: host}) {
			t.Errorf("%s: %+v, want the secret a concurrent call gets", host, got[host])
		}
	}
}

func discardLogger() *logrus.Logger {
	l := logrus.New()
	l.Out = io.Discard
	return l
}

// TestCredentialsLogThroughTheirLogger: the warning about a failed helper
// and the helpers' own stderr go to the logger the caller gives (the
// command's stderr), not to the process's.
func TestCredentialsLogThroughTheirLogger(t *testing.T) {
	installHelper(t, "noisy", "#!/bin/sh\necho 'noisy on stderr' >&2\nprintf '{\"Username\":\"u\",\"Secret\":\"s\"}'\n")
	var out bytes.Buffer
	log := logrus.New()
	log.Out = &out
	log.Formatter = &logrus.TextFormatter{DisableColors: true, DisableTimestamp: true}
	got := allCredentials(context.Background(), loadConfig(t, `{"credHelpers":{"h.example.com":"nosuchhelper","n.example.com":"noisy"}}`), log)
	if got["n.example.com"].Password != "s" {
		t.Errorf("credentials %+v, want n.example.com's from the noisy helper", got)
	}
	want := "noisy on stderr\n" +
		`level=warning msg="Failed to get credentials for registry: h.example.com" error="error getting credentials - err: exec: \"docker-credential-nosuchhelper\": executable file not found in $PATH, out: ` + "``" + `"` + "\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("logged (-want +got):\n%s", diff)
	}
}
