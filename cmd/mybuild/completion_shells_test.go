package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// shellCase is a command line typed up to the cursor and what a Tab there
// offers (a set: each shell orders its own way).
type shellCase struct {
	line string
	want []string
	// line is what zsh leaves on the line after the Tab ("" for the typed
	// line unchanged).
	after string
}

// Lines both shells complete the same way in completionTree's directory.
var shellCases = []shellCase{
	{line: "mybuild --targ", want: []string{"--target"}, after: "mybuild --target "},
	{line: "mybuild --pro", want: []string{"--progress", "--provenance"}},
	{line: "mybuild --progress ", want: []string{"auto", "tty", "plain", "quiet", "rawjson", "none"}},
	{line: "mybuild --progress=ra", want: []string{"--progress=rawjson"}, after: "mybuild --progress=rawjson "},
	{line: "mybuild --platform linux/arm", want: []string{"linux/arm64", "linux/arm/v7", "linux/arm/v6"}},
	{line: "mybuild ctx --target ", want: []string{"base", "test", "final"}},
	{line: "mybuild ctx --target f", want: []string{"final"}, after: "mybuild ctx --target final "},
	{line: "mybuild -f Dockerfile.dev --target ", want: []string{"other"}, after: "mybuild -f Dockerfile.dev --target other "},
	{line: "mybuild -f Dockerfile.d", want: []string{"Dockerfile.dev"}, after: "mybuild -f Dockerfile.dev "},
	{line: "mybuild --context ", want: []string{"default", "prod"}},
	{line: "mybuild --list-context=j", want: []string{"--list-context=json"}, after: "mybuild --list-context=json "},
	{line: "mybuild c", want: []string{"ctx/"}, after: "mybuild ctx/"},
}

func shellLines() []string {
	lines := make([]string, len(shellCases))
	for i, c := range shellCases {
		lines[i] = c.line
	}
	return lines
}

// generated is the binary's completion script for shell, which must be
// what completions/ ships.
func generated(t *testing.T, bin, shell string) []byte {
	t.Helper()
	out, err := exec.Command(bin, "--completion", shell).Output()
	if err != nil {
		t.Fatalf("mybuild --completion %s: %v", shell, err)
	}
	shipped, err := os.ReadFile(filepath.Join("..", "..", "completions", "mybuild."+shell))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, shipped) {
		t.Errorf("completions/mybuild.%s is not what the binary generates (go test ./internal/cli -update-completions)", shell)
	}
	return out
}

func install(t *testing.T, path string, script []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, script, 0o644); err != nil {
		t.Fatal(err)
	}
}

// zshSetup runs in the interactive zsh: compinit with the script installed
// as the README says (an _mybuild file in $fpath), then Tab bound to a
// widget that records, around a real completion, the words each compadd
// call offers for what is typed (compadd -O) and the line it leaves.
const zshSetup = `fpath=($CAPDIR/fpath $fpath)
autoload -Uz compinit && compinit -u -d $CAPDIR/zcompdump
bindkey -e
# No listing, no menu: nothing waits for a key between two Tabs.
unsetopt autolist listambiguous automenu menucomplete
compadd() {
    if (( $@[(I)-[OAD]] )); then builtin compadd "$@"; return; fi
    local -a __offered
    builtin compadd -O __offered "$@"
    (( $#__offered )) && print -rl -- $__offered >>$CAPOUT
    builtin compadd "$@"
}
__capture() {
    print -r -- '<<<' >>$CAPOUT
    zle complete-word
    print -r -- "=> $BUFFER" >>$CAPOUT
    print -r -- '>>>' >>$CAPOUT
}
zle -N __capture
bindkey '^I' __capture
print -r -- READY >>$CAPOUT
`

// zshDriver types each argument and a Tab into an interactive zsh on a
// pseudo-terminal (zsh/zpty), waits for the widget's record, and clears
// the line.
const zshDriver = `zmodload zsh/zpty || exit 2
: >$CAPOUT
zpty cap zsh -f -i
zpty -w cap "source $CAPDIR/setup.zsh"
await() {
    local i junk
    for i in {1..400}; do
        while zpty -rt cap junk 2>/dev/null; do :; done
        (( $(grep -c -x -- "$1" $CAPOUT) >= $2 )) && return 0
        sleep 0.05
    done
    print -u2 "no $1 (number $2) within 20 s"
    exit 1
}
await READY 1
n=0
for line in "$@"; do
    (( n++ ))
    zpty -w -n cap "$line"$'\t'
    await '>>>' $n
    zpty -w -n cap $'\C-u'
done
zpty -d cap
`

// TestZshCompletion presses Tab in a real interactive zsh (compinit, the
// script from $fpath) and reads what the completion system offers and
// inserts.
func TestZshCompletion(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		skipUnlessCI(t, "zsh is not installed (apt-get install zsh)")
	}
	bin := mybuildBinary(t)
	dir, home := completionTree(t)
	capDir := filepath.Join(dir, "zcap")
	install(t, filepath.Join(capDir, "fpath", "_mybuild"), generated(t, bin, "zsh"))
	install(t, filepath.Join(capDir, "setup.zsh"), []byte(zshSetup))
	install(t, filepath.Join(capDir, "driver.zsh"), []byte(zshDriver))
	capOut := filepath.Join(capDir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zsh, append([]string{"-f", filepath.Join(capDir, "driver.zsh")}, shellLines()...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "HOME=" + home, "TERM=xterm", "LANG=C.UTF-8",
		"CAPDIR=" + capDir, "CAPOUT=" + capOut}
	if out, err := cmd.CombinedOutput(); err != nil {
		rec, _ := os.ReadFile(capOut)
		t.Fatalf("zsh: %v\n%s\nrecorded:\n%s", err, out, rec)
	}
	rec, err := os.ReadFile(capOut)
	if err != nil {
		t.Fatal(err)
	}
	got := zshRecords(string(rec))
	if len(got) != len(shellCases) {
		t.Fatalf("recorded %d Tabs for %d lines:\n%s", len(got), len(shellCases), rec)
	}
	for i, c := range shellCases {
		// zsh offers a flag's value after --flag= without the flag (the
		// script passes it as a prefix), and a directory without its /.
		want := make([]string, len(c.want))
		for j, w := range c.want {
			if _, v, ok := strings.Cut(w, "="); ok {
				w = v
			}
			want[j] = strings.TrimSuffix(w, "/")
		}
		if diff := cmp.Diff(want, got[i].offered, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q: offered (-want +got):\n%s", c.line, diff)
		}
		after := c.after
		if after == "" {
			after = c.line
		}
		if got[i].line != after {
			t.Errorf("%q: the Tab left %q, want %q", c.line, got[i].line, after)
		}
	}
}

type zshRecord struct {
	offered []string
	line    string
}

// zshRecords reads the widget's record: per Tab, the words offered (each
// once: a file can be offered by two compadd calls) and the line left.
func zshRecords(s string) []zshRecord {
	var recs []zshRecord
	var cur *zshRecord
	for _, l := range strings.Split(s, "\n") {
		switch {
		case l == "<<<":
			recs = append(recs, zshRecord{})
			cur = &recs[len(recs)-1]
		case l == ">>>":
			cur = nil
		case cur == nil:
		case strings.HasPrefix(l, "=> "):
			cur.line = strings.TrimPrefix(l, "=> ")
		case !slices.Contains(cur.offered, l):
			cur.offered = append(cur.offered, l)
		}
	}
	return recs
}

// TestFishCompletion asks a real fish, with the script where the README
// installs it (fish loads it on demand), what a Tab offers: complete -C.
func TestFishCompletion(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		skipUnlessCI(t, "fish is not installed (apt-get install fish)")
	}
	bin := mybuildBinary(t)
	dir, home := completionTree(t)
	install(t, filepath.Join(home, ".config", "fish", "completions", "mybuild.fish"), generated(t, bin, "fish"))
	script := `for line in $argv
    echo '<<<'
    complete -C"$line"
end
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, fish, append([]string{"-c", script}, shellLines()...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("fish: %v\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	blocks := strings.Split(strings.TrimPrefix(string(out), "<<<\n"), "<<<\n")
	if len(blocks) != len(shellCases) {
		t.Fatalf("got %d blocks of completions for %d lines:\n%s", len(blocks), len(shellCases), out)
	}
	for i, c := range shellCases {
		var offered []string
		for _, l := range strings.Split(strings.TrimSuffix(blocks[i], "\n"), "\n") {
			if word, _, _ := strings.Cut(l, "\t"); word != "" { // a description follows a tab
				offered = append(offered, word)
			}
		}
		if diff := cmp.Diff(c.want, offered, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.line, diff)
		}
	}
}
