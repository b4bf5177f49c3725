package buildreport

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The bench's context (bench/cmd/ctxbench/gen.go, a main package, so not
// importable) has 27k files: 4k sources in nested dirs, 20k small files
// under node_modules, 3k loose git objects. Its shape matters here, not
// its bytes: an unchanged rebuild reads no file, so the files are tiny.
const (
	benchSources = 4000
	benchModules = 20000
	benchGit     = 3000
	benchFiles   = benchSources + benchModules + benchGit
)

var (
	benchOnce  sync.Once
	benchDir   string
	benchList  []File
	benchError error
)

// benchTree makes the 27k-file tree once per test binary and lists it as
// a builder's walk meets it.
func benchTree(tb testing.TB) (string, []File) {
	benchOnce.Do(func() {
		benchDir, benchError = os.MkdirTemp("", "buildreport-bench-")
		if benchError != nil {
			return
		}
		var paths []string
		for i := 0; i < benchSources; i++ {
			paths = append(paths, fmt.Sprintf("src/mod%02d/pkg%02d/sub%d/file%05d.go", i%24, i%12, i%6, i))
		}
		for i := 0; i < benchModules; i++ {
			paths = append(paths, fmt.Sprintf("node_modules/pkg-%04d/lib/file%02d.js", i/25, i%25))
		}
		for i := 0; i < benchGit; i++ {
			paths = append(paths, fmt.Sprintf(".git/objects/%02x/%038x", i%256, i*7919))
		}
		mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, p := range paths {
			name := filepath.Join(benchDir, filepath.FromSlash(p))
			if benchError = os.MkdirAll(filepath.Dir(name), 0o755); benchError != nil {
				return
			}
			if benchError = os.WriteFile(name, []byte(p), 0o644); benchError != nil {
				return
			}
			os.Chtimes(name, mtime, mtime)
		}
		benchError = filepath.Walk(benchDir, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(benchDir, p)
			benchList = append(benchList, File{Path: filepath.ToSlash(rel), Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime().UnixNano()})
			return nil
		})
	})
	if benchError != nil {
		tb.Fatal(benchError)
	}
	return benchDir, benchList
}

func recordOnce(tb testing.TB, s Store, dir string, files []File) *Report {
	rec, err := s.Open(Identity{ContextDir: dir, Dockerfile: "Dockerfile", Builder: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range files {
		rec.Add(f)
	}
	r, err := rec.Finish(Build{Steps: steps(allCached, texts...)})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// BenchmarkUnchangedRebuild27k is the report's cost in an unchanged
// rebuild of the bench's context: read the last record, compare, write
// the new one. The builder's walk (the lstat of each file) is not in it:
// the builder does it anyway.
func BenchmarkUnchangedRebuild27k(b *testing.B) {
	dir, files := benchTree(b)
	s := Store{Dir: b.TempDir()}
	recordOnce(b, s, dir, files)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := recordOnce(b, s, dir, files); r.Changes == nil || r.Changes.Total() != 0 {
			b.Fatalf("changes = %+v", r.Changes)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/build")
}

// BenchmarkOneFileChanged27k: the same with one file edited, so one file
// is read and hashed.
func BenchmarkOneFileChanged27k(b *testing.B) {
	dir, files := benchTree(b)
	s := Store{Dir: b.TempDir()}
	recordOnce(b, s, dir, files)
	changed := append([]File(nil), files...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		changed[100].ModTime = int64(i) + 1 // touched: hashed, found the same
		if r := recordOnce(b, s, dir, changed); r.Changes.Total() != 1 {
			b.Fatalf("changes = %+v", r.Changes)
		}
	}
}

// TestCost27k holds the report to issue 19's memory budget on the bench's
// context: at most 1 MB per 10k files. Its time is measured side by side
// with the build it rides on by bench/cmd/ctxbench's report scenario.
func TestCost27k(t *testing.T) {
	dir, files := benchTree(t)
	if len(files) != benchFiles {
		t.Fatalf("tree has %d files, want %d", len(files), benchFiles)
	}
	s := Store{Dir: t.TempDir()}
	recordOnce(t, s, dir, files)
	var best time.Duration
	var alloc uint64
	for i := 0; i < 5; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		r := recordOnce(t, s, dir, files)
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		if r.Changes == nil || r.Changes.Total() != 0 {
			t.Fatalf("changes = %+v", r.Changes)
		}
		if i == 0 || d < best {
			best = d
		}
		alloc = after.TotalAlloc - before.TotalAlloc
	}
	budget := uint64(len(files)) * 100 // 1 MB per 10k files
	t.Logf("unchanged rebuild of %d files: %v, %d bytes allocated (budget %d)", len(files), best, alloc, budget)
	if alloc > budget {
		t.Errorf("allocated %d bytes, over the budget of %d", alloc, budget)
	}
	st, _ := os.Stat(filepath.Join(s.Dir, mustKey(t, dir)+".rec"))
	t.Logf("record: %d bytes", st.Size())
}

func mustKey(t *testing.T, dir string) string {
	k, err := Identity{ContextDir: dir, Dockerfile: "Dockerfile", Builder: "bench"}.key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
