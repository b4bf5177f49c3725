package buildcontext

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/patternmatcher"

	"github.com/mybuild/mybuild/pkg/dockerignore"
)

// ContextError is a problem with the context that docker reports before it
// sends anything ("error checking context: …"). mybuild finds it while
// streaming, in one walk, and aborts the upload with it. A file that
// shrinks or fails to read once its header is sent is reported the same
// way (docker sends a truncated tar then).
type ContextError struct{ Err error }

func (e *ContextError) Error() string { return "error checking context: " + e.Err.Error() }

func (e *ContextError) Unwrap() error { return e.Err }

// Splice is a Dockerfile added to the tar under a random name, listed in
// .dockerignore so the daemon drops it again (docker's -f - and Dockerfile
// outside the context).
type Splice struct {
	Name    string
	Content []byte
	Now     time.Time
}

// TarOptions tune a Tar.
type TarOptions struct {
	// Excludes are the .dockerignore patterns as read.
	Excludes []string
	// Dockerfile is the Dockerfile's slash path in the context, kept even
	// when excluded unless DockerfileFromStdin.
	Dockerfile          string
	DockerfileFromStdin bool
	// Splice, when set, is appended to the tar.
	Splice *Splice
	// Warn receives problems that skip one file without failing the build
	// (sockets, unreadable files docker does not pre-check), once the
	// walk is over, and none when it ends with a ContextError.
	Warn func(msg string)
	// KeepOwner keeps the files' uid/gid instead of docker's 0/0 (docker
	// does not chown the tar it makes of a Dockerfile read from stdin).
	KeepOwner bool
	// BufferSize is the write buffer in front of the consumer.
	BufferSize int
	// OnEntry, when set, receives each entry's header as Stream writes
	// it (not for the walks of List, Size and Check).
	OnEntry func(*tar.Header)
}

// Tar streams a directory as docker's tar writer would.
type Tar struct {
	dir    string
	opts   TarOptions
	given  TarOptions                     // opts as NewTar made them: write swaps opts.Warn
	vpm    *patternmatcher.PatternMatcher // docker's pre-validation patterns
	tpm    *patternmatcher.PatternMatcher // patterns for what is sent
	except []string                       // exclusion patterns + "/"

	tw     *tar.Writer
	inodes map[uint64]string
	// matchErr is the pattern that failed in the tar walk (docker's
	// "Error matching <path>: <err>"): nothing more is sent after it.
	matchErr error
	ignored  bool // .dockerignore seen (for Splice)
	check    bool // headers only: no file contents are read
	statOnly bool // check, and no file is opened (Size)
	onEntry  func(*tar.Header)
	buf      []byte // file contents on their way to tw

	// hook, set by tests only, is called at the points where a file that
	// changes meanwhile matters (see event).
	hook func(e event, abs string)

	mu  sync.Mutex
	err error
}

// NewTar checks the patterns and prepares a Tar of dir.
func NewTar(dir string, o TarOptions) (*Tar, error) {
	t := &Tar{dir: dir, opts: o, inodes: map[uint64]string{}, onEntry: o.OnEntry}
	if t.opts.Warn == nil {
		t.opts.Warn = func(string) {}
	}
	if t.opts.BufferSize == 0 {
		t.opts.BufferSize = 256 << 10
	}
	t.given = t.opts
	if err := t.compile(); err != nil {
		return nil, err
	}
	return t, nil
}

// compile makes the pattern matchers. Each walk needs its own: a pattern
// that fails to compile when first evaluated ("[z-a]", "\\1") leaves its
// matcher unusable (patternmatcher would dereference a nil regexp the
// next time).
func (t *Tar) compile() error {
	t.vpm, t.tpm, t.except = nil, nil, nil
	if len(t.opts.Excludes) > 0 {
		pm, err := patternmatcher.New(t.opts.Excludes)
		if err != nil {
			return &ContextError{Err: err}
		}
		t.vpm = pm
	}
	sent := dockerignore.KeepBuildFiles(append([]string(nil), t.opts.Excludes...), t.opts.Dockerfile, t.opts.DockerfileFromStdin)
	if len(sent) == 0 {
		return nil
	}
	pm, err := patternmatcher.New(sent)
	if err != nil {
		// Only the exception kept for the Dockerfile can fail here
		// ("[/Dockerfile"): docker's tar writer refuses the patterns,
		// after its pre-check walk, with the bare error.
		if err := t.precheck(); err != nil {
			return err
		}
		return err
	}
	t.tpm = pm
	for _, p := range pm.Patterns() {
		if p.Exclusion() {
			t.except = append(t.except, p.String()+"/")
		}
	}
	return nil
}

// precheck is docker's pre-check walk alone (nothing is sent).
func (t *Tar) precheck() error {
	c := &Tar{dir: t.dir, opts: t.opts, vpm: t.vpm, inodes: map[uint64]string{}, check: true, hook: t.hook}
	c.opts.Splice = nil
	var ce *ContextError
	if err := c.walk(context.Background(), c.dir, "", false, patternmatcher.MatchInfo{}, true); errors.As(err, &ce) {
		return ce
	}
	return nil
}

// Stream starts writing the tar and returns its reader. A failure ends
// the reader with the error; Err returns it too. Closing the reader or
// cancelling ctx stops the walk.
func (t *Tar) Stream(ctx context.Context) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		err := t.write(ctx, pw)
		if err != nil {
			t.setErr(err)
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// Check walks the context as Stream would, without reading file contents,
// and returns the problem docker's pre-check would report, if any.
func (t *Tar) Check(ctx context.Context) error {
	var ce *ContextError
	if err := t.List(ctx, nil); errors.As(err, &ce) {
		return ce
	}
	return nil
}

// List walks the context as Stream would, without reading file contents,
// calling fn with the header of every entry that would be sent (before
// any spliced Dockerfile).
func (t *Tar) List(ctx context.Context, fn func(*tar.Header)) error {
	c := &Tar{dir: t.dir, opts: t.opts, inodes: map[uint64]string{}, check: true, onEntry: fn, hook: t.hook}
	c.opts.Splice = nil
	if err := c.compile(); err != nil {
		return err
	}
	return c.write(ctx, io.Discard)
}

// Size walks the context as Stream would, with lstat alone (no file is
// opened, nothing is checked or reported), and returns how many bytes the
// tar will have: a total for a progress display. It is exact unless files
// change meanwhile or cannot be read (the stream skips them), or (by a
// block at most) with a spliced Dockerfile and a .dockerignore in the
// context. It may run while Stream does.
func (t *Tar) Size(ctx context.Context) (int64, error) {
	var content int64
	c := &Tar{dir: t.dir, opts: t.given, inodes: map[uint64]string{}, check: true, statOnly: true, onEntry: func(h *tar.Header) {
		if h.Typeflag == tar.TypeReg {
			content += (h.Size + blockSize - 1) &^ (blockSize - 1)
		}
	}}
	c.opts.Warn = func(string) {}
	if err := c.compile(); err != nil {
		return 0, err
	}
	var headers countingWriter
	if err := c.write(ctx, &headers); err != nil {
		return 0, err
	}
	return headers.n + content, nil
}

// blockSize is the tar block: contents are padded to it.
const blockSize = 512

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// Err returns the error that ended the stream, if any.
func (t *Tar) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func (t *Tar) setErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
}

func (t *Tar) write(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, t.opts.BufferSize)
	t.tw = tar.NewWriter(bw)
	// Warnings wait for the end of the walk: a context error found later
	// is one docker's pre-check finds before it writes anything, so
	// docker would not have warned about a file (a socket, say).
	warn, held := t.opts.Warn, []string(nil)
	t.opts.Warn = func(msg string) { held = append(held, msg) }
	err := t.walk(ctx, t.dir, "", true, patternmatcher.MatchInfo{}, !t.statOnly)
	t.opts.Warn = warn
	if ce := (*ContextError)(nil); !errors.As(err, &ce) {
		for _, msg := range held {
			warn(msg)
		}
	}
	if err != nil {
		return err
	}
	if t.matchErr != nil {
		warn(t.matchErr.Error())
	}
	if err := t.writeSplice(); err != nil {
		return err
	}
	if err := t.tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// walk visits dir in docker's order (byte-wise sorted, parents first).
// tarActive: entries below may be sent (docker's tar walk is here);
// validating: docker's pre-validation walk is here too.
func (t *Tar) walk(ctx context.Context, dir, rel string, tarActive bool, parent patternmatcher.MatchInfo, validating bool) error {
	t.event(eventDirListed, dir)
	names, err := readNames(dir)
	if err != nil {
		if validating {
			return validationError(dir, err)
		}
		t.opts.Warn(fmt.Sprintf("Tar: Can't stat file %s to tar: %s", t.dir, err))
		return nil
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		relPath, absPath := name, filepath.Join(dir, name)
		if rel != "" {
			relPath = rel + "/" + name
		}
		fi, err := os.Lstat(absPath)
		if err != nil {
			if validating {
				return validationError(absPath, err)
			}
			continue
		}
		checked := false
		if validating {
			// Only where docker's pre-check looks: a pattern that
			// fails there fails it.
			excluded, err := t.validationExcluded(relPath)
			if err != nil {
				return &ContextError{Err: err}
			}
			checked = !excluded
		}
		skip, info := true, patternmatcher.MatchInfo{}
		if tarActive && t.matchErr == nil {
			if skip, info, err = t.sendExcluded(relPath, parent); err != nil {
				// docker's tar walk stops at a pattern that fails
				// to compile once evaluated, logs it, and sends
				// what it had (its pre-check may not evaluate it).
				t.matchErr = fmt.Errorf("Error matching %s: %w", relPath, err)
			}
		}
		if t.matchErr != nil {
			tarActive, skip = false, true
		}
		if fi.IsDir() {
			descend := tarActive && (!skip || t.exceptionBelow(relPath))
			if validating && !checked && descend {
				// Excluded from docker's pre-check but read by its tar
				// walk: an unreadable one fails as with docker. One
				// that is not read at all is no error here; docker
				// lists it anyway and fails (docker/for-linux#380).
				if err := openClose(absPath); err != nil {
					return validationError(absPath, err)
				}
			}
			if tarActive && !skip {
				if err := t.add(absPath, relPath, fi, checked); err != nil {
					return err
				}
			}
			if descend || checked {
				if err := t.walk(ctx, absPath, relPath, descend, info, checked); err != nil {
					return err
				}
			}
			continue
		}
		if tarActive && !skip {
			if err := t.add(absPath, relPath, fi, checked); err != nil {
				return err
			}
			continue
		}
		if checked && opensForValidation(fi) {
			if err := openClose(absPath); err != nil && errors.Is(err, fs.ErrPermission) {
				return &ContextError{Err: fmt.Errorf("no permission to read from '%s'", absPath)}
			}
		}
	}
	return nil
}

// readNames lists a directory in byte-wise order. Names alone take less
// memory than os.ReadDir's entries in a directory of 100,000 files, and
// every entry is lstat'ed anyway. A directory swapped for a FIFO since it
// was listed fails to open instead of waiting for a writer forever.
func readNames(dir string) ([]string, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|openDirectory|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

func (t *Tar) validationExcluded(rel string) (bool, error) {
	if t.vpm == nil {
		return false, nil
	}
	return t.vpm.MatchesOrParentMatches(rel)
}

func (t *Tar) sendExcluded(rel string, parent patternmatcher.MatchInfo) (bool, patternmatcher.MatchInfo, error) {
	if t.tpm == nil {
		return false, parent, nil
	}
	return t.tpm.MatchesUsingParentResults(rel, parent)
}

// exceptionBelow is docker's literal-prefix rule for descending into an
// excluded directory: some "!" pattern's text starts with "dir/".
func (t *Tar) exceptionBelow(dir string) bool {
	for _, p := range t.except {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// opensForValidation: docker's pre-check opens everything but directories,
// symlinks and FIFOs (those would block).
func opensForValidation(fi fs.FileInfo) bool {
	return fi.Mode()&(fs.ModeDir|fs.ModeSymlink|fs.ModeNamedPipe) == 0
}

func openClose(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

func validationError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return &ContextError{Err: fmt.Errorf("can't stat '%s'", path)}
	case errors.Is(err, fs.ErrNotExist):
		return &ContextError{Err: fmt.Errorf("file ('%s') not found or excluded by .dockerignore", path)}
	}
	return &ContextError{Err: err}
}

// event is a point of the walk where tests change a file (Tar.hook).
type event int

const (
	eventListed    event = iota // a regular file was listed, not yet opened
	eventHeader                 // its header is written, its content not yet read
	eventDirListed              // a directory was listed, not yet read
)

func (t *Tar) event(e event, abs string) {
	if t.hook != nil {
		t.hook(e, abs)
	}
}

// noLookups keeps archive/tar from resolving user and group names.
type noLookups struct{ fs.FileInfo }

func (noLookups) Uname() (string, error) { return "", nil }
func (noLookups) Gname() (string, error) { return "", nil }

// add writes one entry. checked says docker's pre-check would have opened
// it, which makes a permission error fatal rather than a warning.
func (t *Tar) add(abs, rel string, fi fs.FileInfo, checked bool) error {
	var f *os.File
	if fi.Mode().IsRegular() && !t.statOnly {
		t.event(eventListed, abs)
		var err error
		if f, fi, err = t.openRegular(abs, fi, checked); err != nil || fi == nil {
			return err
		}
		if f != nil {
			defer f.Close()
		}
	}
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(abs); err != nil {
			t.opts.Warn(fmt.Sprintf("Can't add file %s to tar: %s", abs, err))
			return nil
		}
	}
	if f == nil && checked && opensForValidation(fi) && !fi.Mode().IsRegular() {
		// Devices and sockets: docker's pre-check opens them too.
		if err := openClose(abs); err != nil && errors.Is(err, fs.ErrPermission) {
			return &ContextError{Err: fmt.Errorf("no permission to read from '%s'", abs)}
		}
	}
	hdr, err := tar.FileInfoHeader(noLookups{fi}, link)
	if err != nil {
		t.opts.Warn(fmt.Sprintf("Can't add file %s to tar: %s", abs, err))
		return nil
	}
	hdr.Format = tar.FormatPAX
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if err := readCapability(abs, hdr); err != nil {
		t.opts.Warn(fmt.Sprintf("Can't add file %s to tar: %s", abs, err))
		return nil
	}
	if !fi.IsDir() {
		if ino, nlink := inode(fi); nlink > 1 {
			if first, ok := t.inodes[ino]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				t.inodes[ino] = rel
			}
		}
	}
	if !t.opts.KeepOwner {
		hdr.Uid, hdr.Gid = 0, 0
	}

	if t.onEntry != nil {
		t.onEntry(hdr)
	}
	if t.check {
		hdr.Size = 0
	}
	if t.opts.Splice != nil && rel == dockerignore.FileName && hdr.Typeflag == tar.TypeReg {
		return t.writeSplicedIgnore(hdr, f)
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 || f == nil {
		return nil
	}
	t.event(eventHeader, abs)
	return t.copyContent(abs, f, hdr.Size, hasHoles(fi))
}

// openRegular opens a file the walk listed as regular and returns the
// opened file's own stat, from which the header is made: listing and
// opening are not atomic, and the path may have been replaced since (an
// editor saving by rename gives the new file, sent whole). It is opened
// without following a symlink (a path swapped for a link to a file outside
// the context is not read) and without blocking (a path swapped for a FIFO
// does not hang the walk). A path that vanished or is no longer a regular
// file is skipped with a warning: fi is nil then, and err is only set for
// docker's fatal permission error. An unreadable empty file that docker
// does not pre-check is sent without opening it, as docker does.
func (t *Tar) openRegular(abs string, listed fs.FileInfo, checked bool) (*os.File, fs.FileInfo, error) {
	f, fi, err := OpenListed(abs)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrPermission) && checked:
			return nil, nil, &ContextError{Err: fmt.Errorf("no permission to read from '%s'", abs)}
		case errors.Is(err, fs.ErrPermission) && listed.Size() == 0:
			return nil, listed, nil
		case isSymlinkLoop(err):
			t.opts.Warn(fmt.Sprintf("Can't add file %s to tar: it was replaced by a symbolic link while the context was being sent", abs))
		default:
			t.opts.Warn(fmt.Sprintf("Can't add file %s to tar: %s", abs, err))
		}
		return nil, nil, nil
	}
	return f, fi, nil
}

// OpenListed opens a path that was listed as a regular file, without
// following a symlink and without waiting on a FIFO that took its place;
// a path that is no longer a regular file is an error.
func OpenListed(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNoFollow|openNonBlock, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("it was replaced by a %s while the context was being sent", typeWord(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

func typeWord(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "file of another type"
}

// copyBufferSize is the read size for file contents.
const copyBufferSize = 128 << 10

// copyContent sends the size bytes the header announced. The file may
// change while it is read; the tar stays well formed either way:
//   - it grew: only the first size bytes are sent, with a warning (docker
//     does the same, logging "archive/tar: write too long"); nothing past
//     size is read, so a file that keeps growing cannot hold the walk;
//   - it shrank (or a read failed): the header cannot be taken back and
//     padding would put bytes in the image that were never in the file, so
//     the stream ends with a ContextError and the upload is aborted (docker
//     writes the short content and every later header fails: the daemon
//     receives a truncated tar).
//
// The holes of a sparse file are sent as zeros without reading them (the
// tar itself is not sparse: docker's daemon expects plain files).
func (t *Tar) copyContent(abs string, f *os.File, size int64, holes bool) error {
	if t.buf == nil {
		t.buf = make([]byte, copyBufferSize)
	}
	var sent int64
	dataEnd := size // reads go up to here before the next hole is looked for
	if holes {
		dataEnd = 0
	}
	for sent < size {
		if sent >= dataEnd {
			zeros, next, ok := nextData(f, sent, size)
			if !ok {
				dataEnd = size // no hole support here: read it all
				continue
			}
			if err := t.writeZeros(zeros); err != nil {
				return err
			}
			if sent += zeros; sent < size {
				if _, err := f.Seek(sent, io.SeekStart); err != nil {
					return &ContextError{Err: fmt.Errorf("can't read '%s' after sending %d of its %d bytes: %w", abs, sent, size, err)}
				}
			}
			dataEnd = max(next, sent+1)
			continue
		}
		n, err := f.Read(t.buf[:min(int64(len(t.buf)), dataEnd-sent)])
		if n > 0 {
			if _, werr := t.tw.Write(t.buf[:n]); werr != nil {
				return werr
			}
			sent += int64(n)
		}
		if n == 0 || errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &ContextError{Err: fmt.Errorf("can't read '%s' after sending %d of its %d bytes: %w", abs, sent, size, err)}
		}
	}
	if sent < size {
		return &ContextError{Err: fmt.Errorf("file ('%s') shrank while it was being sent: it ended after %d of the %d bytes it had when listed", abs, sent, size)}
	}
	if n, _ := f.ReadAt(t.buf[:1], size); n > 0 {
		t.opts.Warn(fmt.Sprintf("File %s grew while it was being sent: only its first %d bytes, its size when it was listed, were sent", abs, size))
	}
	return nil
}

// zeroChunk is written for the holes of sparse files; large enough that
// the buffered writer passes it through without copying. Made on first
// use: most builds have no sparse file.
var zeroChunk = sync.OnceValue(func() []byte { return make([]byte, 1<<20) })

func (t *Tar) writeZeros(n int64) error {
	zeros := zeroChunk()
	for n > 0 {
		m := min(n, int64(len(zeros)))
		if _, err := t.tw.Write(zeros[:m]); err != nil {
			return err
		}
		n -= m
	}
	return nil
}

// writeSplicedIgnore appends the spliced Dockerfile's name to .dockerignore.
func (t *Tar) writeSplicedIgnore(hdr *tar.Header, f *os.File) error {
	var content []byte
	if f != nil {
		var err error
		if content, err = io.ReadAll(io.LimitReader(f, hdr.Size)); err != nil {
			return err
		}
	}
	t.ignored = true
	content = append(content, "\n"+t.opts.Splice.Name+"\n"...)
	hdr.Size = int64(len(content))
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := t.tw.Write(content)
	return err
}

// writeSplice appends the spliced Dockerfile and, when the context had
// none, a .dockerignore that lists itself and the Dockerfile.
func (t *Tar) writeSplice() error {
	s := t.opts.Splice
	if s == nil {
		return nil
	}
	entry := func(name string, content []byte) error {
		hdr := &tar.Header{Name: name, Mode: 0o600, ModTime: s.Now, AccessTime: s.Now, ChangeTime: s.Now, Typeflag: tar.TypeReg, Size: int64(len(content))}
		if err := t.tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := t.tw.Write(content)
		return err
	}
	if err := entry(s.Name, s.Content); err != nil {
		return err
	}
	if t.ignored {
		return nil
	}
	return entry(dockerignore.FileName, []byte(dockerignore.FileName+"\n"+s.Name+"\n"))
}
