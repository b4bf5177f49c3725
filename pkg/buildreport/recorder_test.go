package buildreport

import (
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWalkOrder(t *testing.T) {
	got := []string{"a-b", "a/b", "a", "a/b/c", "b", "a.txt", "a/a"}
	sort.Slice(got, func(i, j int) bool { return walkLess(got[i], got[j]) })
	want := []string{"a", "a/a", "a/b", "a/b/c", "a-b", "a.txt", "b"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("walk order (-want +got):\n%s", d)
	}
}

// addAll feeds files in the order given.
func record(t *testing.T, s Store, dir string, files []File) *Report {
	t.Helper()
	rec, err := s.Open(Identity{ContextDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rec.Add(f)
	}
	r, err := rec.Finish(Build{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRecorderOrder: files out of walk order, or walked twice, give the
// same diff as the sorted walk.
func TestRecorderOrder(t *testing.T) {
	f := func(p string, size int64) File { return File{Path: p, Size: size, Mode: 0o644, ModTime: t0.UnixNano()} }
	before := []File{f("a", 1), f("a/b", 2), f("a-b", 3), f("c", 4)}
	after := []File{f("a", 1), f("a/b", 20), f("c", 4), f("d", 5)}
	want := &Changes{Added: 1, Removed: 1, Content: 1, Largest: []Change{
		{Path: "a/b", Kind: Content, Size: 20}, {Path: "d", Kind: Added, Size: 5}, {Path: "a-b", Kind: Removed, Size: 3}}}
	cases := map[string][]File{
		"sorted":   after,
		"reversed": {after[3], after[2], after[1], after[0]},
		"twice":    append(append([]File{}, after...), after...),
	}
	for name, second := range cases {
		t.Run(name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			record(t, s, "", before)
			if d := cmp.Diff(want, record(t, s, "", second).Changes); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
			// the record written is the sorted one: nothing changed since.
			if d := cmp.Diff(&Changes{Largest: []Change{}}, record(t, s, "", after).Changes); d != "" {
				t.Errorf("changes after a rebuild (-want +got):\n%s", d)
			}
		})
	}
}

// TestDamagedRecord: a record cut short or overwritten is no record.
func TestDamagedRecord(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
		"garbage":   func(b []byte) []byte { return []byte("MYBREC01 not a record at all, not at all......") },
		"entries":   func(b []byte) []byte { copy(b[8:], []byte{0xff, 0xff, 0xff}); return b },
	} {
		t.Run(name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			files := []File{{Path: "a", Size: 1, Mode: 0o644}, {Path: "b", Size: 2, Mode: 0o644}}
			record(t, s, "", files)
			recs, _ := filepath.Glob(filepath.Join(s.Dir, "*.rec"))
			raw, _ := os.ReadFile(recs[0])
			os.WriteFile(recs[0], damage(raw), 0o600)
			rec, err := s.Open(Identity{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				rec.Add(f)
			}
			r, err := rec.Finish(Build{})
			if name == "entries" {
				if err == nil && r.Changes != nil && r.Changes.Total() == 0 {
					t.Errorf("damaged entries read as an unchanged context")
				}
				return
			}
			if err != nil || r.Changes != nil {
				t.Errorf("Finish = %v, changes %+v; want no earlier record", err, r.Changes)
			}
		})
	}
}

// TestConcurrentBuilds: builds of one context finishing together leave
// one whole record and no temp file.
func TestConcurrentBuilds(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	var files []File
	for i := 0; i < 2000; i++ {
		files = append(files, File{Path: filepath.ToSlash(filepath.Join("d", string(rune('a'+i%26)), time.Duration(i).String())), Size: int64(i), Mode: 0o644})
	}
	sort.Slice(files, func(i, j int) bool { return walkLess(files[i].Path, files[j].Path) })
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := s.Open(Identity{ContextDir: "/x"})
			if err != nil {
				t.Error(err)
				return
			}
			for _, f := range files {
				rec.Add(f)
			}
			if _, err := rec.Finish(Build{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	left, _ := filepath.Glob(filepath.Join(s.Dir, "*"))
	if len(left) != 1 {
		t.Fatalf("store holds %v, want one record", left)
	}
	if d := cmp.Diff(&Changes{Largest: []Change{}}, record(t, s, "/x", files).Changes); d != "" {
		t.Errorf("after concurrent builds (-want +got):\n%s", d)
	}
}

func TestPrune(t *testing.T) {
	s := Store{Dir: t.TempDir(), Keep: 3}
	for i := 0; i < 5; i++ {
		record(t, s, string(rune('a'+i)), []File{{Path: "f", Mode: 0o644}})
	}
	left, _ := filepath.Glob(filepath.Join(s.Dir, "*.rec"))
	if len(left) != 3 {
		t.Errorf("store holds %d records, want 3", len(left))
	}
}

func TestUserCacheDir(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	cases := []struct {
		goos string
		env  func(string) string
		want string // "" : an error
	}{
		{"linux", env("XDG_CACHE_HOME", "/x/cache", "HOME", "/home/u"), "/x/cache"},
		{"linux", env("XDG_CACHE_HOME", "relative", "HOME", "/home/u"), "/home/u/.cache"},
		{"linux", env("HOME", "/home/u"), "/home/u/.cache"},
		{"linux", env(), ""},
		{"darwin", env("HOME", "/Users/u"), "/Users/u/Library/Caches"},
		{"windows", env("HOME", "/home/u"), ""},
	}
	for _, c := range cases {
		got, err := userCacheDir(c.goos, c.env)
		if (err != nil) != (c.want == "") || got != c.want {
			t.Errorf("%s: userCacheDir = %q, %v; want %q", c.goos, got, err, c.want)
		}
	}
}
