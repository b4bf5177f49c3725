package buildcontext

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	archive "github.com/moby/go-archive"

	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// entry is what the daemon sees of one tar member.
type entry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Uname    string
	Gname    string
	ModTime  int64
	Size     int64
	Link     string
	PAX      map[string]string
	Format   tar.Format
	Content  string
}

func readEntries(t *testing.T, r io.Reader) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s: %v", h.Name, err)
		}
		sum := sha256.Sum256(b)
		e := entry{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Uname: h.Uname, Gname: h.Gname,
			ModTime: h.ModTime.UnixNano(), Size: h.Size, Link: h.Linkname, Format: h.Format, Content: hex.EncodeToString(sum[:8])}
		for k, v := range h.PAXRecords {
			if e.PAX == nil {
				e.PAX = map[string]string{}
			}
			e.PAX[k] = v
		}
		out = append(out, e)
	}
}

// tree describes files to create: a name ending in "/" is a directory,
// "->" makes a symlink, "=>" a hard link, "|" a FIFO.
func makeTree(t testing.TB, spec []string) string {
	t.Helper()
	dir := t.TempDir()
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, s := range spec {
		switch {
		case strings.Contains(s, " -> "):
			name, target, _ := strings.Cut(s, " -> ")
			mustDir(t, filepath.Dir(filepath.Join(dir, name)))
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			continue
		case strings.Contains(s, " => "):
			name, target, _ := strings.Cut(s, " => ")
			if err := os.Link(filepath.Join(dir, target), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			continue
		case strings.HasSuffix(s, "|"):
			p := filepath.Join(dir, strings.TrimSuffix(s, "|"))
			mustDir(t, filepath.Dir(p))
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(s, "/"):
			mustDir(t, filepath.Join(dir, s))
		default:
			name, content, _ := strings.Cut(s, "=")
			p := filepath.Join(dir, name)
			mustDir(t, filepath.Dir(p))
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Fixed mtimes (sub-second, to see the truncation) on everything.
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink == 0 {
			_ = os.Chtimes(p, mtime, mtime)
		}
		return nil
	})
	return dir
}

func mustDir(t testing.TB, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func ours(t *testing.T, dir string, excludes []string, dockerfile string) []entry {
	t.Helper()
	tt, err := NewTar(dir, TarOptions{Excludes: excludes, Dockerfile: dockerfile})
	if err != nil {
		t.Fatalf("NewTar: %v", err)
	}
	rc := tt.Stream(context.Background())
	defer rc.Close()
	return readEntries(t, rc)
}

// docker runs moby/go-archive exactly as docker CLI 28 does.
func docker(t *testing.T, dir string, excludes []string, dockerfile string) []entry {
	t.Helper()
	ex := dockerignore.KeepBuildFiles(append([]string(nil), excludes...), dockerfile, false)
	rc, err := archive.TarWithOptions(dir, &archive.TarOptions{ExcludePatterns: ex, ChownOpts: &archive.ChownOpts{UID: 0, GID: 0}})
	if err != nil {
		t.Fatalf("go-archive: %v", err)
	}
	defer rc.Close()
	return readEntries(t, rc)
}

var baseTree = []string{
	"Dockerfile=FROM scratch\n",
	".dockerignore=",
	"a.txt=a", "b.md=b", "README.md=readme",
	"sub/x.md=x", "sub/y=y", "sub/deep/y=dy", "sub/deep/z.md=z",
	"dir/keep=k", "dir/drop=d", "dir/inner/keep=ik",
	"node_modules/pkg/index.js=js", "node_modules/pkg/a.py=py",
	"empty/",
	".git/HEAD=ref", ".git/objects/ab/cd=obj",
	"link -> a.txt", "abs -> /etc/passwd", "dangling -> nope", "dirlink -> sub",
	"hard => a.txt",
	"fifo|",
	"Ünïcödé-ñame.txt=u",
	strings.Repeat("long/", 25) + "file=deep",
	strings.Repeat("n", 120) + "=long name",
}

func TestTarMatchesGoArchive(t *testing.T) {
	cases := []struct {
		name       string
		excludes   []string
		dockerfile string
	}{
		{"no patterns", nil, "Dockerfile"},
		{"root-anchored glob", []string{"*.md"}, "Dockerfile"},
		{"double star", []string{"**/*.md"}, "Dockerfile"},
		{"double star exception", []string{"**/y", "!sub/deep"}, "Dockerfile"},
		{"dir with exception", []string{"dir", "!dir/keep"}, "Dockerfile"},
		{"dir with nested exception", []string{"dir", "!dir/inner/keep"}, "Dockerfile"},
		{"wildcard exception does not rescue", []string{"node_modules", "!**/*.py"}, "Dockerfile"},
		{"exclude everything but", []string{"*", "!a.txt", "!sub"}, "Dockerfile"},
		{"dockerfile and ignore listed", []string{"Dockerfile", ".dockerignore", ".git"}, "Dockerfile"},
		{"leading slash and trailing slash", []string{"/sub/", "/.git"}, "Dockerfile"},
		{"question mark and class", []string{"?.txt", "[ab].md"}, "Dockerfile"},
		{"exclusion first", []string{"!a.txt", "*.txt"}, "Dockerfile"},
		{"symlinks excluded", []string{"link", "abs", "dirlink"}, "Dockerfile"},
		{"hard link target excluded", []string{"a.txt"}, "Dockerfile"},
		{"nested dockerfile kept", []string{"sub"}, "sub/deep/z.md"},
		{"long names", []string{"long/long/long"}, "Dockerfile"},
		{"double star middle", []string{"sub/**/y"}, "Dockerfile"},
		{"escape", []string{`a\.txt`}, "Dockerfile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := makeTree(t, baseTree)
			// A setuid file and an odd mode, as docker keeps them.
			if err := os.Chmod(filepath.Join(dir, "b.md"), 0o4755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "sub/y"), 0o600); err != nil {
				t.Fatal(err)
			}
			want := docker(t, dir, tc.excludes, tc.dockerfile)
			got := ours(t, dir, tc.excludes, tc.dockerfile)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("entries differ from go-archive (-docker +mybuild):\n%s", diff)
			}
			assertExplainAgrees(t, dir, tc.excludes, tc.dockerfile, got)
		})
	}
}

// assertExplainAgrees checks that dockerignore.Explain says "sent" for
// exactly the paths the tar holds.
func assertExplainAgrees(t *testing.T, dir string, excludes []string, dockerfile string, sent []entry) {
	t.Helper()
	inTar := map[string]bool{}
	for _, e := range sent {
		inTar[strings.TrimSuffix(e.Name, "/")] = true
	}
	rules := make([]dockerignore.Rule, len(excludes))
	for i, p := range excludes {
		rules[i] = dockerignore.Rule{Pattern: p, Line: i + 1}
	}
	_ = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		v, err := dockerignore.Explain(rules, dockerfile, rel)
		if err != nil {
			t.Fatalf("Explain(%q): %v", rel, err)
		}
		if v.Sent != inTar[rel] {
			t.Errorf("Explain(%q).Sent = %v, but the tar says %v (%+v)", rel, v.Sent, inTar[rel], v)
		}
		return nil
	})
}

func TestTarSocketSkippedWithWarning(t *testing.T) {
	dir := makeTree(t, []string{"Dockerfile=FROM scratch\n"})
	sock := filepath.Join(dir, "s.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	tt, err := NewTar(dir, TarOptions{Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Fatal(err)
	}
	got := readEntries(t, tt.Stream(context.Background()))
	if len(got) != 1 || got[0].Name != "Dockerfile" {
		t.Errorf("entries = %+v, want only Dockerfile", got)
	}
	want := []string{"Can't add file " + sock + " to tar: archive/tar: sockets not supported"}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestTarValidationErrors(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permission checks need an unprivileged user; covered by the differential suite")
	}
	dir := makeTree(t, []string{"Dockerfile=x", "secret=s", "locked/f=f"})
	if err := os.Chmod(filepath.Join(dir, "secret"), 0); err != nil {
		t.Fatal(err)
	}
	tt, err := NewTar(dir, TarOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, tt.Stream(context.Background()))
	var ce *ContextError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "no permission to read from '"+filepath.Join(dir, "secret")+"'") {
		t.Errorf("err = %v, want a no-permission ContextError", err)
	}
}

func TestTarSpliceAppendsDockerfileAndIgnore(t *testing.T) {
	now := time.Unix(1700000000, 5)
	for _, tc := range []struct {
		name       string
		tree       []string
		wantIgnore string
	}{
		{"no dockerignore", []string{"a=1"}, ".dockerignore\n.dockerfile.0123\n"},
		{"existing dockerignore", []string{"a=1", ".dockerignore=b\n"}, "b\n\n.dockerfile.0123\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := makeTree(t, tc.tree)
			tt, err := NewTar(dir, TarOptions{DockerfileFromStdin: true, Splice: &Splice{Name: ".dockerfile.0123", Content: []byte("FROM scratch\n"), Now: now}})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, tt.Stream(context.Background())); err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(&buf)
			files := map[string]string{}
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(tr)
				files[h.Name] = string(b)
				// Like docker, atime/ctime are set but an unspecified format drops them.
				if h.Name == ".dockerfile.0123" && (h.Mode != 0o600 || h.Uid != 0 || !h.ModTime.Equal(now.Truncate(time.Second)) || h.Format != tar.FormatUSTAR) {
					t.Errorf("spliced header = %+v", h)
				}
			}
			if files[".dockerfile.0123"] != "FROM scratch\n" || files[".dockerignore"] != tc.wantIgnore {
				t.Errorf("files = %q", files)
			}
		})
	}
}

// TestSize: Size is the length of the tar Stream writes, for trees with
// long and non-ASCII names (PAX headers), hard and symbolic links, a FIFO,
// a socket (skipped), empty and block-sized files, excluded directories
// with exceptions and spliced Dockerfiles; it warns about nothing.
func TestSize(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("d", 120)
	tree := []string{
		"Dockerfile=FROM scratch\n", "empty=", "block=" + strings.Repeat("b", 512), "odd=" + strings.Repeat("o", 513),
		long + "/" + strings.Repeat("f", 110) + "=x", "naïve-ünïcode=u", "sub/a=a", "sub/hard => sub/a", "link -> sub/a",
		"pipe|", "big=" + strings.Repeat("z", 300_000), "node_modules/x/y=y", "node_modules/keep=k",
	}
	for _, tc := range []struct {
		name     string
		excludes []string
		splice   bool
		slack    int64
	}{
		{name: "everything"},
		{name: "excludes with an exception", excludes: []string{"node_modules", "!node_modules/keep", "big"}},
		{name: "spliced Dockerfile", splice: true},
		{name: "spliced Dockerfile and a .dockerignore", excludes: []string{"big"}, splice: true, slack: 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := makeTree(t, tree)
			sock := filepath.Join(dir, "s.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if len(tc.excludes) > 0 {
				if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(strings.Join(tc.excludes, "\n")), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := TarOptions{Excludes: tc.excludes, Dockerfile: "Dockerfile"}
			if tc.splice {
				o.Splice = &Splice{Name: ".dockerfile.0123", Content: []byte("FROM scratch\nLABEL spliced=1\n"), Now: time.Unix(1700000000, 0)}
				o.Dockerfile, o.DockerfileFromStdin = ".dockerfile.0123", true
			}
			var warned []string
			o.Warn = func(msg string) { warned = append(warned, msg) }
			tt, err := NewTar(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			size, err := tt.Size(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(warned) != 0 {
				t.Errorf("Size warned: %q", warned)
			}
			sent, err := io.Copy(io.Discard, tt.Stream(context.Background()))
			if err != nil {
				t.Fatal(err)
			}
			if d := size - sent; d < -tc.slack || d > tc.slack {
				t.Errorf("Size = %d, the stream has %d bytes (want within %d)", size, sent, tc.slack)
			}
		})
	}
}

// TestSizeCancelled: Size stops with the context.
func TestSizeCancelled(t *testing.T) {
	t.Parallel()
	tt, err := NewTar(makeTree(t, []string{"Dockerfile=x", "a/b=c"}), TarOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tt.Size(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestSizeWhileStreaming: Size may run beside Stream (the terminal's
// meter asks for the total while the context is sent); -race checks it.
func TestSizeWhileStreaming(t *testing.T) {
	t.Parallel()
	tt, err := NewTar(makeTree(t, []string{"Dockerfile=x", "a/b=c", "big=" + strings.Repeat("z", 1<<20)}), TarOptions{Warn: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, tt.Stream(context.Background()))
		done <- n
	}()
	size, err := tt.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sent := <-done; size != sent {
		t.Errorf("Size = %d, sent %d", size, sent)
	}
}
