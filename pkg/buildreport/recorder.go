package buildreport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Store is the directory that holds the records of builds, one a
// context; any of them may be deleted at any time.
type Store struct {
	Dir string
	// Keep is how many records are kept (the newest); 0: DefaultKeep.
	Keep int
}

// DefaultKeep bounds the store to about a few MB for large contexts.
const DefaultKeep = 64

// DefaultStore is the user's cache directory (as os.UserCacheDir finds
// it, from getenv's variables)/mybuild/reports.
func DefaultStore(getenv func(string) string) (Store, error) {
	d, err := userCacheDir(runtime.GOOS, getenv)
	if err != nil {
		return Store{}, err
	}
	return Store{Dir: filepath.Join(d, "mybuild", "reports")}, nil
}

// userCacheDir is os.UserCacheDir reading the environment it is given.
func userCacheDir(goos string, getenv func(string) string) (string, error) {
	var dir string
	switch goos {
	case "windows":
		dir = getenv("LocalAppData")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			dir = filepath.Join(h, "Library", "Caches")
		}
	default:
		dir = getenv("XDG_CACHE_HOME")
		if !filepath.IsAbs(dir) {
			dir = ""
			if h := getenv("HOME"); h != "" {
				dir = filepath.Join(h, ".cache")
			}
		}
	}
	if dir == "" || !filepath.IsAbs(dir) {
		return "", errors.New("no cache directory: neither $XDG_CACHE_HOME nor $HOME is set")
	}
	return dir, nil
}

// Identity names what a record is of: builds of the same context
// directory, Dockerfile and builder endpoint compare with each other.
type Identity struct {
	ContextDir string // made absolute
	Dockerfile string // as given (-f), or its path in the context
	Builder    string // endpoint or node name
}

func (id Identity) key() (string, error) {
	dir := id.ContextDir
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		dir = abs
	}
	sum := sha256.Sum256([]byte(dir + "\x00" + id.Dockerfile + "\x00" + id.Builder))
	return hex.EncodeToString(sum[:12]), nil
}

// Recorder keeps the record of one build while it runs: Add each file
// of the context as the builder's walk meets it, then Finish.
type Recorder struct {
	store Store
	id    Identity
	name  string // the record's path
	tmp   *os.File
	out   *entryWriter

	prev     *meta // nil: no earlier record
	prevRecs *recordReader
	prevFile File // the next entry of prevRecs, when prevOK
	prevOK   bool

	h       hasher
	any     bool   // a file was added
	last    string // path of the last file added
	sorted  bool   // files came in walk order so far
	pending []File // files kept in memory once they did not
	diff    FileDiff
	err     error
}

// Open starts the record of a build of id. Its error means no report
// can compare with earlier builds; the build itself need not fail.
func (s Store) Open(id Identity) (*Recorder, error) {
	key, err := id.key()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	r := &Recorder{store: s, id: id, name: filepath.Join(s.Dir, key+".rec"), sorted: true, h: hasher{dir: id.ContextDir}}
	if rr, raw, err := openRecord(r.name); err == nil {
		var m meta
		if json.Unmarshal(raw, &m) == nil && m.Version == metaVersion {
			r.prev = &m
			if m.Files {
				r.prevRecs = rr
				r.prevOK = rr.next(&r.prevFile)
			} else {
				rr.Close()
			}
		} else {
			rr.Close()
		}
	}
	if err := r.startOutput(); err != nil {
		r.closePrev()
		return nil, err
	}
	return r, nil
}

func (r *Recorder) startOutput() error {
	f, err := os.CreateTemp(r.store.Dir, filepath.Base(r.name)+".*.tmp")
	if err != nil {
		return err
	}
	r.tmp, r.out = f, newEntryWriter(f)
	return nil
}

func (r *Recorder) closePrev() {
	if r.prevRecs != nil {
		r.prevRecs.Close()
		r.prevRecs, r.prevOK = nil, false
	}
}

// Add records one file of the context (directories are skipped). Files
// are cheapest given in walk order (sorted names, depth first), as both
// builders' walks give them; any other order, or a second walk, is
// still right but costs memory. Not safe for concurrent use.
func (r *Recorder) Add(f File) {
	if f.Mode.IsDir() || r.err != nil {
		return
	}
	r.any = true
	if r.sorted && r.last != "" && !walkLess(r.last, f.Path) {
		r.unsort()
	}
	if !r.sorted {
		r.pending = append(r.pending, f)
		return
	}
	r.last = f.Path
	r.push(&f)
}

// push merges one file, in walk order, with the earlier record.
func (r *Recorder) push(f *File) {
	for r.prevOK && walkLess(r.prevFile.Path, f.Path) {
		r.diff.add(Change{Path: r.prevFile.Path, Kind: Removed, Size: r.prevFile.Size})
		r.prevOK = r.prevRecs.next(&r.prevFile)
	}
	switch {
	case r.prevOK && r.prevFile.Path == f.Path:
		p := &r.prevFile
		if !f.hashed {
			if f.Size == p.Size && f.ModTime == p.ModTime && f.Mode.Type() == p.Mode.Type() {
				f.hash, f.hashed = p.hash, p.hashed
			} else {
				r.h.hash(f)
			}
		}
		if c, ok := compare(p, f); ok {
			r.diff.add(c)
		}
		r.prevOK = r.prevRecs.next(&r.prevFile)
	case r.prev != nil && r.prev.Files:
		if !f.hashed {
			r.h.hash(f)
		}
		r.diff.add(Change{Path: f.Path, Kind: Added, Size: f.Size})
	default: // the first record: hash what is cheap
		if !f.hashed && f.Size <= eagerHashLimit {
			r.h.hash(f)
		}
	}
	r.out.add(f)
}

// compare classifies a file found in both records.
func compare(p, f *File) (Change, bool) {
	c := Change{Path: f.Path, Size: f.Size, Kind: Content}
	switch {
	case p.Mode.Type() != f.Mode.Type(), p.Size != f.Size:
		return c, true
	case p.hashed && f.hashed && p.hash != f.hash:
		return c, true
	case p.hashed && f.hashed:
	case p.ModTime != f.ModTime:
		c.Unverified = true
		return c, true
	}
	if p.sameMeta(f) {
		return Change{}, false
	}
	c.Kind = Metadata
	return c, true
}

// unsort switches to keeping files in memory: those already written are
// read back, and everything is merged again at Finish.
func (r *Recorder) unsort() {
	r.sorted = false
	var err error
	if err = r.out.finish(nil); err == nil {
		var rr *recordReader
		if rr, _, err = readRecord(r.tmp); err == nil {
			var f File
			for rr.next(&f) {
				r.pending = append(r.pending, f)
			}
			err = rr.err
		}
	}
	r.discardOutput()
	if err == nil {
		err = r.startOutput()
	}
	r.err = err
}

func (r *Recorder) discardOutput() {
	if r.tmp != nil {
		r.tmp.Close()
		os.Remove(r.tmp.Name())
		r.tmp = nil
	}
}

// remerge merges the files kept in memory, sorted, the last of a path
// winning, against the earlier record read anew.
func (r *Recorder) remerge() error {
	sort.SliceStable(r.pending, func(i, j int) bool { return walkLess(r.pending[i].Path, r.pending[j].Path) })
	files := r.pending[:0]
	for i, f := range r.pending {
		if i+1 < len(r.pending) && r.pending[i+1].Path == f.Path {
			continue
		}
		files = append(files, f)
	}
	r.pending = nil
	r.closePrev()
	r.diff = FileDiff{}
	if r.prev != nil && r.prev.Files {
		rr, _, err := openRecord(r.name)
		if err != nil {
			return err
		}
		r.prevRecs = rr
		r.prevOK = rr.next(&r.prevFile)
	}
	for i := range files {
		r.push(&files[i])
	}
	return nil
}

// Abort drops the record being made (the build never ran).
func (r *Recorder) Abort() {
	r.closePrev()
	r.discardOutput()
}

// Finish writes the record of b in place of the earlier one (atomically:
// a concurrent build of the same context sees one or the other, the last
// to finish wins) and returns the report comparing the two.
func (r *Recorder) Finish(b Build) (*Report, error) {
	defer r.Abort()
	if r.err == nil && !r.sorted {
		r.err = r.remerge()
	}
	if r.err != nil {
		return nil, r.err
	}
	var diff *FileDiff
	if r.any && r.prev != nil && r.prev.Files {
		for r.prevOK {
			r.diff.add(Change{Path: r.prevFile.Path, Kind: Removed, Size: r.prevFile.Size})
			r.prevOK = r.prevRecs.next(&r.prevFile)
		}
		if r.prevRecs.err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, r.prevRecs.err)
		}
		diff = &r.diff
	}
	m := newMeta(r.id, b, r.any)
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := r.out.finish(raw); err != nil {
		return nil, err
	}
	if err := r.tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(r.tmp.Name(), r.name); err != nil {
		return nil, err
	}
	r.tmp = nil
	r.store.prune()
	return newReport(b, r.prev, diff), nil
}

// prune keeps the newest Keep records and drops temp files left by
// builds that died an hour ago or more.
func (s Store) prune() {
	keep := s.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return
	}
	type rec struct {
		name string
		mod  time.Time
	}
	var recs []rec
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(e.Name(), ".tmp") && time.Since(info.ModTime()) > time.Hour:
			os.Remove(filepath.Join(s.Dir, e.Name()))
		case strings.HasSuffix(e.Name(), ".rec"):
			recs = append(recs, rec{e.Name(), info.ModTime()})
		}
	}
	if len(recs) <= keep {
		return
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].mod.After(recs[j].mod) })
	for _, x := range recs[keep:] {
		os.Remove(filepath.Join(s.Dir, x.name))
	}
}
