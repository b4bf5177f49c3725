//go:build unix

package buildcontext

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// FuzzTarExcludes walks one fixed tree with fuzzed .dockerignore content:
// the entries sent must be exactly those of moby/go-archive, docker's own
// tar writer, and dockerignore.Explain must say "sent" for exactly them.
func FuzzTarExcludes(f *testing.F) {
	for _, c := range []string{
		"*.md\n", "**/*.md\n", "**/y\n!sub/deep\n", "dir\n!dir/keep\n", "dir\n!dir/inner/keep\n",
		"node_modules\n!**/*.py\n", "*\n!a.txt\n!sub\n", "Dockerfile\n.dockerignore\n.git\n",
		"/sub/\n/.git\n", "?.txt\n[ab].md\n", "!a.txt\n*.txt\n", "link\nabs\ndirlink\n", "a.txt\n",
		"long/long/long\n", "sub/**/y\n", "a\\.txt\n", "**\n!**/keep\n", "*/\n", "sub/*/\n!sub/deep/z.md\n",
		"a.txt\n\\1\n", // compiles only when evaluated, and fails
	} {
		f.Add(c)
	}
	dir := makeTree(f, baseTree)
	f.Fuzz(func(t *testing.T, content string) {
		if len(content) > 512 || strings.Count(content, "\n") > 12 {
			return
		}
		excludes, err := ignorefile.ReadAll(strings.NewReader(content))
		if err != nil {
			return
		}
		all := dockerignore.KeepBuildFiles(append([]string(nil), excludes...), "Dockerfile", false)
		tt, err := NewTar(dir, TarOptions{Excludes: excludes, Dockerfile: "Dockerfile"})
		if _, perr := patternmatcher.New(all); (perr != nil) != (err != nil) {
			t.Fatalf("NewTar: %v; patternmatcher: %v", err, perr)
		}
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, tt.Stream(context.Background())); err != nil {
			// A pattern that fails once evaluated: docker's tar writer
			// stops silently there, its pre-check fails as this does.
			if !errors.Is(err, filepath.ErrBadPattern) {
				t.Fatalf("stream: %v", err)
			}
			return
		}
		want := docker(t, dir, excludes, "Dockerfile")
		got := ours(t, dir, excludes, "Dockerfile")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("entries differ from go-archive (-docker +mybuild):\n%s", diff)
		}
		assertExplainAgrees(t, dir, excludes, "Dockerfile", got)
	})
}

// FuzzFromReader feeds fuzzed stdin to the tar-or-Dockerfile sniffing:
// an archive (by IsArchive on its first 512 bytes) is forwarded byte for
// byte; anything else becomes a one-entry tar holding it as Dockerfile,
// or docker's error when -f also names a Dockerfile.
func FuzzFromReader(f *testing.F) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	_ = tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: 13})
	_, _ = tw.Write([]byte("FROM scratch\n"))
	_ = tw.Close()
	for _, seed := range [][]byte{
		[]byte("FROM scratch\nRUN true\n"), {}, tarBuf.Bytes(), tarBuf.Bytes()[:511], tarBuf.Bytes()[:512],
		{0x1f, 0x8b, 0x08, 0, 0}, []byte("BZh91AY"), {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}, {0x28, 0xb5, 0x2f, 0xfd},
		{0x50, 0x2a, 0x4d, 0x18, 1, 2, 3}, {0x1f, 0x8b}, []byte("\x00\x00\x00"),
	} {
		for flag := range uint8(3) {
			f.Add(seed, flag)
		}
	}
	flags := []string{"", "-", "sub/Dockerfile"}
	f.Fuzz(func(t *testing.T, data []byte, flag uint8) {
		dockerfileFlag := flags[int(flag)%len(flags)]
		head := data[:min(len(data), archiveHeaderSize)]
		if Compression(head) != "" && !IsArchive(head) {
			t.Fatalf("Compression(%q) = %q but IsArchive is false", head, Compression(head))
		}
		body, dockerfile, err := FromReader(context.Background(), bytes.NewReader(data), dockerfileFlag)
		switch {
		case IsArchive(head):
			if err != nil || dockerfile != dockerfileFlag {
				t.Fatalf("archive: dockerfile %q, error %v; want %q, nil", dockerfile, err, dockerfileFlag)
			}
			got, err := io.ReadAll(body)
			body.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("archive not forwarded as is: %d of %d bytes, %v", len(got), len(data), err)
			}
		case dockerfileFlag == "-":
			if err == nil || err.Error() != "build context is not an archive" {
				t.Fatalf("-f - with a Dockerfile on stdin: error %v", err)
			}
		case dockerfileFlag != "":
			if err == nil || err.Error() != "ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles" {
				t.Fatalf("-f with a Dockerfile on stdin: error %v", err)
			}
		default:
			if err != nil || dockerfile != DefaultDockerfileName {
				t.Fatalf("Dockerfile on stdin: dockerfile %q, error %v", dockerfile, err)
			}
			tr := tar.NewReader(body)
			h, err := tr.Next()
			if err != nil || h.Name != DefaultDockerfileName || h.Typeflag != tar.TypeReg || h.Size != int64(len(data)) {
				t.Fatalf("first entry %+v, %v; want the %d-byte Dockerfile", h, err, len(data))
			}
			content, err := io.ReadAll(tr)
			if err != nil || !bytes.Equal(content, data) {
				t.Fatalf("Dockerfile content differs from stdin (%v)", err)
			}
			if _, err := tr.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("a second entry or a broken tar: %v", err)
			}
			if err := body.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
