package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// completionTree is a directory to complete in: a context with stages, a
// Dockerfile beside it, and a docker config with one context.
func completionTree(t *testing.T) (dir, home string) {
	t.Helper()
	dir = shortTempDir(t)
	files := map[string]string{
		"ctx/Dockerfile": "FROM scratch AS base\nFROM base as test\nFROM base AS final\n",
		"Dockerfile.dev": "FROM scratch AS other\n",
		"home/.docker/contexts/meta/0e1f/meta.json": `{"Name":"prod","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://build-host:2376"}}}`,
	}
	for p, c := range files {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, filepath.Join(dir, "home")
}

// TestBashCompletionBare sources `mybuild --completion bash` into a bash
// without the bash-completion package (--norc: nothing else is loaded)
// and calls its completion function as bash does on Tab, for each line.
func TestBashCompletionBare(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		skipUnlessCI(t, "bash is not installed")
	}
	bin := mybuildBinary(t)
	dir, home := completionTree(t)
	cases := []struct {
		line string
		want []string
	}{
		{"mybuild --targ", []string{"--target"}},
		{"mybuild ctx --target ", []string{"base", "test", "final"}},
		{"mybuild ctx --target f", []string{"final"}},
		{"mybuild -f Dockerfile.dev --target ", []string{"other"}},
		{"mybuild --target ", nil}, // no Dockerfile in "."
		{"mybuild --list-context=j", []string{"json"}},
		{"mybuild --context ", []string{"default", "prod"}},
		{"mybuild --context p", []string{"prod"}},
		{"mybuild c", []string{"ctx"}}, // directories for the context
	} // -f leaves file names to bash itself ("complete -o default"): see TestBashTabBare
	script := `source <(mybuild --completion bash)
if declare -F _get_comp_words_by_ref >/dev/null; then echo "bash-completion is loaded"; exit 1; fi
t() {
    COMP_LINE=$1 COMP_POINT=${#1}
    read -r -a COMP_WORDS <<<"$1"
    [[ $1 == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMPREPLY=()
    __start_mybuild
    # A completion with one candidate ends with a blank.
    printf '%s' "${COMPREPLY[*]}" | sed 's/ *$//'
    echo
}
`
	for _, c := range cases {
		script += "t '" + c.line + "'\n"
	}
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "HOME=" + home}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s%s", err, out, stderr.String())
	}
	if strings.Contains(stderr.String(), "command not found") {
		t.Errorf("the script calls what a bare bash does not have:\n%s", stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("got %d lines of completions for %d cases:\n%s\nstderr:\n%s", len(lines), len(cases), out, stderr.String())
	}
	for i, c := range cases {
		if diff := cmp.Diff(c.want, strings.Fields(lines[i]), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.line, diff)
		}
	}
}

// TestBashTabBare presses Tab in an interactive bash without the
// bash-completion package, in a tmux pane: the line completes, and no
// "command not found" shows.
func TestBashTabBare(t *testing.T) {
	tmuxPath, err := exec.LookPath("tmux")
	if err != nil {
		skipUnlessCI(t, "tmux is not installed: this test types into a tmux pane (apt-get install tmux)")
	}
	bin := mybuildBinary(t)
	dir, home := completionTree(t)
	tm := &tmux{t: t, path: tmuxPath, sock: filepath.Join(dir, "tmux.sock"), env: []string{
		"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "HOME=" + home, "TERM=xterm-256color", "LANG=C.UTF-8",
	}}
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g status off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tm.run("-f", conf, "new-session", "-d", "-s", "pty", "-x", "100", "-y", "20", "-c", dir,
		"-e", "PS1=$ ", "bash", "--norc", "--noprofile", "-i")
	t.Cleanup(tm.kill)
	lastLine := func(want string) func([]string) bool {
		return func(lines []string) bool { return len(lines) > 0 && lines[len(lines)-1] == want }
	}
	tm.run("send-keys", "-t", "pty", "source <(mybuild --completion bash); clear", "Enter")
	tm.waitScreen(10*time.Second, "the prompt after sourcing", lastLine("$"))
	for _, c := range []struct{ typed, want string }{
		{"mybuild --targ", "$ mybuild --target"},
		{"mybuild ctx --target fi", "$ mybuild ctx --target final"},
		{"mybuild -f Dockerfile.d", "$ mybuild -f Dockerfile.dev"},
		{"mybuild --list-context=js", "$ mybuild --list-context=json"},
	} {
		tm.run("send-keys", "-t", "pty", "-l", c.typed)
		tm.run("send-keys", "-t", "pty", "Tab")
		screen := tm.waitScreen(10*time.Second, "the completed line "+c.want, lastLine(c.want))
		if containsLine(screen, "command not found") {
			t.Errorf("%q: the screen shows an error:\n%s", c.typed, strings.Join(screen, "\n"))
		}
		tm.run("send-keys", "-t", "pty", "C-u")
		tm.waitScreen(10*time.Second, "an empty prompt", lastLine("$"))
	}
}
