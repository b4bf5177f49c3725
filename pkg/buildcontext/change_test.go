//go:build unix

package buildcontext

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// streamed is what a consumer of Tar.Stream got.
type streamed struct {
	files    map[string][]byte // regular entries and their content
	names    []string          // every entry, in order
	warnings []string
	err      error // the error the stream ended with (nil: clean EOF)
}

// streamChanging streams dir, calling change at each hook point, and reads
// the stream back. When the stream ends cleanly, the bytes must be a
// well-formed tar: every entry's content as long as its header says, and
// the end-of-archive marker last.
func streamChanging(t *testing.T, dir string, change func(e event, abs string)) streamed {
	t.Helper()
	var s streamed
	var mu sync.Mutex
	tt, err := NewTar(dir, TarOptions{Warn: func(m string) { mu.Lock(); s.warnings = append(s.warnings, m); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	tt.hook = change
	done := make(chan struct{})
	var body []byte
	go func() {
		defer close(done)
		body, s.err = io.ReadAll(tt.Stream(context.Background()))
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the tar stream did not end within 20 s")
	}
	if s.err != nil {
		if tt.Err() != s.err {
			t.Errorf("Err() = %v, want the stream's error %v", tt.Err(), s.err)
		}
		return s
	}
	s.files = map[string][]byte{}
	s.names = checkWellFormed(t, body, s.files)
	return s
}

// checkWellFormed parses a complete tar body and returns its entry names.
func checkWellFormed(t *testing.T, body []byte, files map[string][]byte) []string {
	t.Helper()
	if len(body)%512 != 0 || len(body) < 1024 || !bytes.Equal(body[len(body)-1024:], make([]byte, 1024)) {
		t.Fatalf("the tar (%d bytes) does not end with the end-of-archive marker", len(body))
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(body))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("reading the tar after %q: %v", names, err)
		}
		b, err := io.ReadAll(tr)
		if err != nil || int64(len(b)) != h.Size {
			t.Fatalf("entry %s: header size %d, read %d bytes (%v)", h.Name, h.Size, len(b), err)
		}
		names = append(names, h.Name)
		if h.Typeflag == tar.TypeReg && files != nil {
			files[h.Name] = b
		}
	}
}

// at runs fn once, when the walk reaches event e for the context file name.
func at(e event, dir, name string, fn func(abs string)) func(event, string) {
	var once sync.Once
	return func(got event, abs string) {
		if got == e && abs == filepath.Join(dir, name) {
			once.Do(func() { fn(abs) })
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// changeTree is a context whose file "m" (100 kB, more than one read)
// is changed by the tests; "a" comes before it and "z" after.
func changeTree(t *testing.T) (dir string, content []byte) {
	t.Helper()
	content = bytes.Repeat([]byte("0123456789"), 10000)
	dir = makeTree(t, []string{"Dockerfile=FROM scratch\n", "a=a", "z=z", "d/inner=i"})
	must(t, os.WriteFile(filepath.Join(dir, "m"), content, 0o644))
	return dir, content
}

func wantNames(t *testing.T, got streamed, want ...string) {
	t.Helper()
	if strings.Join(got.names, " ") != strings.Join(want, " ") {
		t.Errorf("entries = %q, want %q", got.names, want)
	}
}

func wantWarning(t *testing.T, got streamed, want string) {
	t.Helper()
	if len(got.warnings) != 1 || got.warnings[0] != want {
		t.Errorf("warnings = %q, want exactly %q", got.warnings, want)
	}
}

func TestTarFileGrowsWhileSent(t *testing.T) {
	t.Parallel()
	dir, content := changeTree(t)
	got := streamChanging(t, dir, at(eventHeader, dir, "m", func(abs string) {
		f, err := os.OpenFile(abs, os.O_APPEND|os.O_WRONLY, 0)
		must(t, err)
		_, err = f.Write([]byte("appended after the header"))
		must(t, err)
		must(t, f.Close())
	}))
	if got.err != nil {
		t.Fatalf("stream error %v, want a complete tar", got.err)
	}
	wantNames(t, got, "Dockerfile", "a", "d/", "d/inner", "m", "z")
	if !bytes.Equal(got.files["m"], content) {
		t.Errorf("m: sent %d bytes, want its %d bytes as listed", len(got.files["m"]), len(content))
	}
	wantWarning(t, got, fmt.Sprintf("File %s grew while it was being sent: only its first 100000 bytes, its size when it was listed, were sent", filepath.Join(dir, "m")))
}

func TestTarFileShrinksWhileSent(t *testing.T) {
	t.Parallel()
	dir, _ := changeTree(t)
	got := streamChanging(t, dir, at(eventHeader, dir, "m", func(abs string) {
		must(t, os.Truncate(abs, 10))
	}))
	var ce *ContextError
	if !errors.As(got.err, &ce) {
		t.Fatalf("stream ended with %v, want a ContextError (a clean EOF would hand the daemon a short entry)", got.err)
	}
	want := fmt.Sprintf("error checking context: file ('%s') shrank while it was being sent: it ended after 10 of the 100000 bytes it had when listed", filepath.Join(dir, "m"))
	if got.err.Error() != want {
		t.Errorf("error = %q, want %q", got.err, want)
	}
}

func TestTarFileChangesBeforeOpen(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(outside, []byte("not in the context"), 0o644))
	cases := []struct {
		name    string
		change  func(t *testing.T, abs string)
		want    []string // entries
		warning string   // after "Can't add file <abs> to tar: "
		content string   // of m, when sent
	}{
		{name: "vanishes", change: func(t *testing.T, abs string) { must(t, os.Remove(abs)) },
			want: []string{"Dockerfile", "a", "d/", "d/inner", "z"}, warning: "open @: no such file or directory"},
		{name: "replaced by a directory", change: func(t *testing.T, abs string) {
			must(t, os.Remove(abs))
			must(t, os.Mkdir(abs, 0o755))
			must(t, os.WriteFile(filepath.Join(abs, "child"), []byte("c"), 0o644))
		}, want: []string{"Dockerfile", "a", "d/", "d/inner", "z"}, warning: "it was replaced by a directory while the context was being sent"},
		{name: "replaced by a symlink", change: func(t *testing.T, abs string) {
			must(t, os.Remove(abs))
			must(t, os.Symlink(outside, abs))
		}, want: []string{"Dockerfile", "a", "d/", "d/inner", "z"}, warning: "it was replaced by a symbolic link while the context was being sent"},
		{name: "replaced by a FIFO", change: func(t *testing.T, abs string) {
			must(t, os.Remove(abs))
			must(t, syscall.Mkfifo(abs, 0o644))
		}, want: []string{"Dockerfile", "a", "d/", "d/inner", "z"}, warning: "it was replaced by a named pipe while the context was being sent"},
		{name: "replaced by another file", change: func(t *testing.T, abs string) {
			tmp := abs + ".new"
			must(t, os.WriteFile(tmp, []byte("saved by an editor"), 0o600))
			must(t, os.Rename(tmp, abs))
		}, want: []string{"Dockerfile", "a", "d/", "d/inner", "m", "z"}, content: "saved by an editor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, _ := changeTree(t)
			got := streamChanging(t, dir, at(eventListed, dir, "m", func(abs string) { tc.change(t, abs) }))
			if got.err != nil {
				t.Fatalf("stream error %v, want a complete tar", got.err)
			}
			wantNames(t, got, tc.want...)
			if tc.warning == "" {
				if len(got.warnings) != 0 {
					t.Errorf("warnings = %q, want none", got.warnings)
				}
			} else {
				abs := filepath.Join(dir, "m")
				wantWarning(t, got, "Can't add file "+abs+" to tar: "+strings.ReplaceAll(tc.warning, "@", abs))
			}
			if tc.content != "" && string(got.files["m"]) != tc.content {
				t.Errorf("m = %q, want %q", got.files["m"], tc.content)
			}
		})
	}
}

func TestTarFileRemovedAfterOpenIsSentWhole(t *testing.T) {
	t.Parallel()
	dir, content := changeTree(t)
	got := streamChanging(t, dir, at(eventHeader, dir, "m", func(abs string) { must(t, os.Remove(abs)) }))
	if got.err != nil {
		t.Fatalf("stream error %v", got.err)
	}
	if !bytes.Equal(got.files["m"], content) || len(got.warnings) != 0 {
		t.Errorf("m: %d bytes, warnings %q; want the open file's %d bytes and no warning", len(got.files["m"]), got.warnings, len(content))
	}
}

func TestTarDirectoryVanishesBeforeItIsRead(t *testing.T) {
	t.Parallel()
	dir, _ := changeTree(t)
	// "a" is sent before "d" is looked at.
	got := streamChanging(t, dir, at(eventListed, dir, "a", func(string) { must(t, os.RemoveAll(filepath.Join(dir, "d"))) }))
	want := fmt.Sprintf("error checking context: file ('%s') not found or excluded by .dockerignore", filepath.Join(dir, "d"))
	var ce *ContextError
	if !errors.As(got.err, &ce) || got.err.Error() != want {
		t.Errorf("stream ended with %v, want %q (docker's message for a path that vanished)", got.err, want)
	}
}

func TestTarDirectoryReplacedByFIFO(t *testing.T) {
	t.Parallel()
	dir, _ := changeTree(t)
	// Opening a FIFO for reading waits for a writer: the walk must not.
	got := streamChanging(t, dir, at(eventDirListed, dir, "d", func(d string) {
		must(t, os.RemoveAll(d))
		must(t, syscall.Mkfifo(d, 0o644))
	}))
	var ce *ContextError
	if !errors.As(got.err, &ce) || !errors.Is(got.err, syscall.ENOTDIR) {
		t.Errorf("stream ended with %v, want a ContextError for a directory that is no longer one", got.err)
	}
}

func TestTarDirectoryReplacedByFile(t *testing.T) {
	t.Parallel()
	dir, _ := changeTree(t)
	got := streamChanging(t, dir, at(eventListed, dir, "a", func(string) {
		d := filepath.Join(dir, "d")
		must(t, os.RemoveAll(d))
		must(t, os.WriteFile(d, []byte("now a file"), 0o644))
	}))
	if got.err != nil {
		t.Fatalf("stream error %v", got.err)
	}
	wantNames(t, got, "Dockerfile", "a", "d", "m", "z")
	if string(got.files["d"]) != "now a file" {
		t.Errorf("d = %q", got.files["d"])
	}
}

// TestTarFilesChangeConcurrently streams a context again and again while
// another goroutine keeps rewriting, growing, truncating, removing and
// swapping its files. Whatever the timing, each stream must end either
// with a well-formed tar or with a ContextError, and never hang.
func TestTarFilesChangeConcurrently(t *testing.T) {
	t.Parallel()
	dir := makeTree(t, []string{"Dockerfile=FROM scratch\n"})
	names := []string{"f0", "f1", "f2", "f3", "f4", "f5"}
	for _, n := range names {
		must(t, os.WriteFile(filepath.Join(dir, n), bytes.Repeat([]byte{'x'}, 200<<10), 0o644))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewSource(1))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := filepath.Join(dir, names[rng.Intn(len(names))])
			_ = os.RemoveAll(p)
			switch i % 5 {
			case 0:
				_ = os.WriteFile(p, bytes.Repeat([]byte{'y'}, rng.Intn(400<<10)), 0o644)
			case 1:
				_ = os.Mkdir(p, 0o755)
			case 2:
				_ = syscall.Mkfifo(p, 0o644)
			case 3:
				_ = os.Symlink("/etc/hostname", p)
			case 4:
				_ = os.WriteFile(p, bytes.Repeat([]byte{'z'}, 300<<10), 0o644)
				_ = os.Truncate(p, int64(rng.Intn(300<<10)))
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	deadline := time.Now().Add(time.Second)
	var clean, failed int
	for time.Now().Before(deadline) {
		got := streamChanging(t, dir, nil)
		var ce *ContextError
		switch {
		case got.err == nil:
			clean++
		case errors.As(got.err, &ce):
			failed++
		default:
			t.Fatalf("stream ended with %v, want a complete tar or a ContextError", got.err)
		}
	}
	t.Logf("%d complete tars, %d aborted with a context error", clean, failed)
}
