package buildreport

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ctxDir is a small context on disk whose files have fixed mtimes.
type ctxDir struct {
	t   *testing.T
	dir string
}

func newCtx(t *testing.T, files map[string]string) *ctxDir {
	c := &ctxDir{t: t, dir: t.TempDir()}
	for p, s := range files {
		c.write(p, s, t0)
	}
	return c
}

func (c *ctxDir) write(p, s string, mtime time.Time) {
	c.t.Helper()
	name := filepath.Join(c.dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.touch(p, mtime)
}

func (c *ctxDir) touch(p string, mtime time.Time) {
	c.t.Helper()
	if err := os.Chtimes(filepath.Join(c.dir, filepath.FromSlash(p)), mtime, mtime); err != nil {
		c.t.Fatal(err)
	}
}

// walk feeds the context's files to rec in walk order, as a builder's
// walk would.
func (c *ctxDir) walk(rec *Recorder) {
	c.t.Helper()
	err := filepath.Walk(c.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == c.dir {
			return err
		}
		rel, _ := filepath.Rel(c.dir, p)
		rec.Add(File{Path: filepath.ToSlash(rel), Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime().UnixNano()})
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

func build(t *testing.T, s Store, c *ctxDir, b Build) *Report {
	t.Helper()
	rec, err := s.Open(Identity{ContextDir: c.dir, Dockerfile: "Dockerfile", Builder: "unix:///test.sock"})
	if err != nil {
		t.Fatal(err)
	}
	c.walk(rec)
	r, err := rec.Finish(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func steps(cached []bool, texts ...string) []Step {
	var out []Step
	for i, tx := range texts {
		out = append(out, Step{Stage: "0", Text: tx, Cached: cached[i], Started: t0.Add(time.Duration(i) * time.Second), Duration: time.Duration(i+1) * 100 * time.Millisecond})
	}
	return out
}

var (
	texts     = []string{"FROM busybox", "COPY . /app", "RUN make"}
	allCached = []bool{false, true, true}
	copyMiss  = []bool{false, false, false}
	runMiss   = []bool{false, true, false}
)

func first() Build {
	return Build{Builder: "buildkit", Started: t0, Duration: 2 * time.Second, Steps: steps(copyMiss, texts...),
		Args: map[string]string{"VERSION": "1.0", "NPM_TOKEN": "s3cr3t-value"}, Bases: map[string]string{"busybox": "sha256:aaaaaaaaaaaaaaaa"}}
}

func TestExplain(t *testing.T) {
	files := map[string]string{"Dockerfile": "FROM busybox\nCOPY . /app\nRUN make\n", "src/main.go": "package main\n", "src/util.go": "package util\n", "README": "hi\n"}
	later := t0.Add(time.Hour)
	cases := []struct {
		name        string
		change      func(c *ctxDir, b *Build)
		noRecord    bool
		wantMiss    *Miss
		wantChanges *Changes
	}{
		{name: "nothing changed", change: func(c *ctxDir, b *Build) { b.Steps = steps(allCached, texts...) },
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "no earlier record", noRecord: true, change: func(c *ctxDir, b *Build) {},
			wantMiss: &Miss{Step: "COPY . /app", Stage: "0", Reason: NoRecord, Detail: "unknown: no earlier build of this context is recorded"}},
		{name: "one file content changed", change: func(c *ctxDir, b *Build) { c.write("src/main.go", "package main // edited\n", later) },
			wantMiss: &Miss{Step: "COPY . /app", Stage: "0", Reason: FilesChanged, Detail: "COPY . /app: src/main.go changed (23B)",
				Files: []Change{{Path: "src/main.go", Kind: Content, Size: 23}}},
			wantChanges: &Changes{Content: 1, Largest: []Change{{Path: "src/main.go", Kind: Content, Size: 23}}}},
		{name: "only touched", change: func(c *ctxDir, b *Build) { c.touch("src/util.go", later) },
			wantMiss: &Miss{Step: "COPY . /app", Stage: "0", Reason: MetadataOnly, Detail: "COPY . /app: only metadata changed (mtime, mode, owner): src/util.go touched (13B)",
				Files: []Change{{Path: "src/util.go", Kind: Metadata, Size: 13}}},
			wantChanges: &Changes{Metadata: 1, Largest: []Change{{Path: "src/util.go", Kind: Metadata, Size: 13}}}},
		{name: "added and removed", change: func(c *ctxDir, b *Build) {
			c.write("src/new.go", "package main\n\nfunc f() {}\n", later)
			os.Remove(filepath.Join(c.dir, "README"))
		},
			wantMiss: &Miss{Step: "COPY . /app", Stage: "0", Reason: FilesChanged, Detail: "COPY . /app: src/new.go added (26B), 1 more",
				Files: []Change{{Path: "src/new.go", Kind: Added, Size: 26}, {Path: "README", Kind: Removed, Size: 3}}},
			wantChanges: &Changes{Added: 1, Removed: 1, Largest: []Change{{Path: "src/new.go", Kind: Added, Size: 26}, {Path: "README", Kind: Removed, Size: 3}}}},
		{name: "Dockerfile line edited", change: func(c *ctxDir, b *Build) {
			c.write("Dockerfile", "FROM busybox\nCOPY . /app\nRUN make all\n", t0)
			b.Steps = steps(runMiss, "FROM busybox", "COPY . /app", "RUN make all")
		},
			wantMiss:    &Miss{Step: "RUN make all", Stage: "0", Reason: Instruction, Detail: "instruction changed: RUN make → RUN make all", Old: "RUN make", New: "RUN make all"},
			wantChanges: &Changes{Content: 1, Largest: []Change{{Path: "Dockerfile", Kind: Content, Size: 38}}}},
		{name: "build arg changed", change: func(c *ctxDir, b *Build) {
			b.Steps = steps(runMiss, texts...)
			b.Args = map[string]string{"VERSION": "1.1", "NPM_TOKEN": "an0ther-s3cr3t"}
		},
			wantMiss:    &Miss{Step: "RUN make", Stage: "0", Reason: BuildArg, Detail: "build arg NPM_TOKEN, VERSION differs", Names: []string{"NPM_TOKEN", "VERSION"}},
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "no-cache", change: func(c *ctxDir, b *Build) { b.NoCache = true },
			wantMiss:    &Miss{Step: "COPY . /app", Stage: "0", Reason: NoCache, Detail: "--no-cache was given"},
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "no-cache-filter", change: func(c *ctxDir, b *Build) { b.NoCacheFilter = []string{"0"} },
			wantMiss:    &Miss{Step: "COPY . /app", Stage: "0", Reason: NoCacheFilter, Detail: "--no-cache-filter names stage 0"},
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "base digest changed", change: func(c *ctxDir, b *Build) { b.Bases = map[string]string{"busybox": "sha256:bbbbbbbbbbbbbbbb"} },
			wantMiss: &Miss{Step: "COPY . /app", Stage: "0", Reason: BaseChanged, Detail: "base image busybox resolved to another digest: aaaaaaaaaaaa → bbbbbbbbbbbb",
				Names: []string{"busybox"}, Old: "sha256:aaaaaaaaaaaaaaaa", New: "sha256:bbbbbbbbbbbbbbbb"},
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "cache pruned", change: func(c *ctxDir, b *Build) {},
			wantMiss:    &Miss{Step: "COPY . /app", Stage: "0", Reason: CachePruned, Detail: "unknown: nothing recorded changed, yet no step was cached: the builder's cache was pruned or is not the last build's"},
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "RUN missed, nothing changed", change: func(c *ctxDir, b *Build) { b.Steps = steps(runMiss, texts...) },
			wantMiss:    &Miss{Step: "RUN make", Stage: "0", Reason: UnknownReason, Detail: "unknown: nothing mybuild records changed for this step"},
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "target differs", change: func(c *ctxDir, b *Build) { b.Steps = steps(runMiss, texts...); b.Target = "final" },
			wantMiss:    &Miss{Step: "RUN make", Stage: "0", Reason: Target, Detail: "--target differs: (none) → final", New: "final"},
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "platform differs", change: func(c *ctxDir, b *Build) { b.Platforms = []string{"linux/arm64"} },
			wantMiss:    &Miss{Step: "COPY . /app", Stage: "0", Reason: Platform, Detail: "--platform differs: (none) → linux/arm64", New: "linux/arm64"},
			wantChanges: &Changes{Largest: []Change{}}},
		{name: "failing step", change: func(c *ctxDir, b *Build) {
			b.Steps = steps(runMiss, texts...)
			b.Steps[2].Text = "RUN make"
			b.Steps[2].Error = "exit code: 2"
			b.Steps[2].Log = []string{"make: *** No rule to make target 'all'.  Stop."}
			b.Error = "process did not complete successfully"
			b.Args = map[string]string{"VERSION": "2.0", "NPM_TOKEN": "s3cr3t-value"}
		},
			wantMiss:    &Miss{Step: "RUN make", Stage: "0", Reason: BuildArg, Detail: "build arg VERSION differs", Names: []string{"VERSION"}},
			wantChanges: &Changes{Largest: []Change{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			c := newCtx(t, files)
			if !tc.noRecord {
				build(t, s, c, first())
			}
			b := first()
			tc.change(c, &b)
			r := build(t, s, c, b)
			if d := cmp.Diff(tc.wantMiss, r.FirstMiss); d != "" {
				t.Errorf("first miss (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantChanges, r.Changes); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
			if tc.name == "failing step" && (r.Failed == nil || r.Failed.Text != "RUN make" || r.Success) {
				t.Errorf("failed step = %+v, success %v", r.Failed, r.Success)
			}
			recs, _ := filepath.Glob(filepath.Join(s.Dir, "*"))
			if len(recs) != 1 {
				t.Fatalf("store holds %v, want one record", recs)
			}
			raw, _ := os.ReadFile(recs[0])
			for _, secret := range []string{"s3cr3t", "an0ther"} {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("the record holds the secret-looking value %q", secret)
				}
			}
		})
	}
}

// A quiet classic build (-q) shows no steps: the next one cannot say an
// instruction is new, and says unknown when no file explains the miss.
func TestExplainAfterQuietBuild(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	c := newCtx(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY . /app\n", "a.txt": "a\n"})
	quiet := first()
	quiet.Steps = nil
	build(t, s, c, quiet)
	b := first()
	b.Steps = steps(copyMiss, "FROM busybox", "COPY . /app")
	want := &Miss{Step: "COPY . /app", Stage: "0", Reason: UnknownReason, Detail: "unknown: the last build recorded no steps (its output was quiet)"}
	if d := cmp.Diff(want, build(t, s, c, b).FirstMiss); d != "" {
		t.Errorf("first miss (-want +got):\n%s", d)
	}
	c.write("a.txt", "b\n", t0.Add(time.Hour))
	got := build(t, s, c, b).FirstMiss
	if got == nil || got.Reason != FilesChanged || got.Detail != "COPY . /app: a.txt changed (2B)" {
		t.Errorf("first miss after an edit = %+v", got)
	}
}
