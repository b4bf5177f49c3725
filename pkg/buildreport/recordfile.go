package buildreport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// A record file is
//
//	"MYBREC01"
//	entries, in walk order, each: uvarint shared prefix with the previous
//	  path, uvarint suffix length, suffix, uvarint size, varint mtime,
//	  uvarint mode, uid, gid, one byte 1+8-byte hash or 0
//	the meta as JSON
//	8-byte big-endian offset of the meta, 8-byte its length, "MYBREND1"
//
// so that the files can be streamed (a 27k-file context is about 40
// bytes a file on disk and a buffer in memory) and the meta read alone.
const (
	recMagic  = "MYBREC01"
	recEnd    = "MYBREND1"
	footerLen = 8 + 8 + 8 // offset, length, recEnd
	// maxMeta bounds what is read of a record's meta.
	maxMeta = 4 << 20
)

// entryWriter appends entries to a record.
type entryWriter struct {
	w    *bufio.Writer
	last string
	n    int64 // bytes written
	buf  []byte
	err  error
}

func newEntryWriter(w io.Writer) *entryWriter {
	ew := &entryWriter{w: bufio.NewWriterSize(w, 64<<10)}
	ew.write([]byte(recMagic))
	return ew
}

func (ew *entryWriter) write(b []byte) {
	if ew.err != nil {
		return
	}
	n, err := ew.w.Write(b)
	ew.n += int64(n)
	ew.err = err
}

func (ew *entryWriter) add(f *File) {
	shared := 0
	for shared < len(f.Path) && shared < len(ew.last) && f.Path[shared] == ew.last[shared] {
		shared++
	}
	b := ew.buf[:0]
	b = binary.AppendUvarint(b, uint64(shared))
	b = binary.AppendUvarint(b, uint64(len(f.Path)-shared))
	b = append(b, f.Path[shared:]...)
	b = binary.AppendUvarint(b, uint64(f.Size))
	b = binary.AppendVarint(b, f.ModTime)
	b = binary.AppendUvarint(b, uint64(f.Mode))
	b = binary.AppendUvarint(b, uint64(f.UID))
	b = binary.AppendUvarint(b, uint64(f.GID))
	if f.hashed {
		b = append(b, 1)
		b = binary.BigEndian.AppendUint64(b, f.hash)
	} else {
		b = append(b, 0)
	}
	ew.buf = b
	ew.write(b)
	ew.last = f.Path
}

// finish writes the meta and the footer.
func (ew *entryWriter) finish(meta []byte) error {
	off := ew.n
	ew.write(meta)
	var foot [footerLen]byte
	binary.BigEndian.PutUint64(foot[0:], uint64(off))
	binary.BigEndian.PutUint64(foot[8:], uint64(len(meta)))
	copy(foot[16:], recEnd)
	ew.write(foot[:])
	if ew.err != nil {
		return ew.err
	}
	return ew.w.Flush()
}

// recordReader reads a record file: its meta at once, its entries one
// by one.
type recordReader struct {
	f    *os.File
	r    *bufio.Reader
	left int64 // bytes of entries not yet read
	path []byte
	c    countReader
	err  error
}

var errBadRecord = errors.New("not a mybuild record")

func openRecord(name string) (*recordReader, []byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	rr, meta, err := readRecord(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return rr, meta, nil
}

func readRecord(f *os.File) (*recordReader, []byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	var foot [footerLen]byte
	if st.Size() < int64(len(recMagic)+footerLen) {
		return nil, nil, errBadRecord
	}
	if _, err := f.ReadAt(foot[:], st.Size()-footerLen); err != nil {
		return nil, nil, err
	}
	off, n := int64(binary.BigEndian.Uint64(foot[0:])), int64(binary.BigEndian.Uint64(foot[8:]))
	if string(foot[16:]) != recEnd || off < int64(len(recMagic)) || n > maxMeta || off+n != st.Size()-footerLen {
		return nil, nil, errBadRecord
	}
	meta := make([]byte, n)
	if _, err := f.ReadAt(meta, off); err != nil {
		return nil, nil, err
	}
	var magic [len(recMagic)]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || string(magic[:]) != recMagic {
		return nil, nil, errBadRecord
	}
	sr := io.NewSectionReader(f, int64(len(recMagic)), off-int64(len(recMagic)))
	return &recordReader{f: f, r: bufio.NewReaderSize(sr, 64<<10), left: off - int64(len(recMagic))}, meta, nil
}

// next reads the next entry into f; false at the end or on a damaged
// record (err says which).
func (rr *recordReader) next(f *File) bool {
	if rr.err != nil || rr.left == 0 {
		return false
	}
	c := &rr.c
	c.r, c.n = rr.r, 0
	shared, err := binary.ReadUvarint(c)
	suffix, err2 := binary.ReadUvarint(c)
	if err != nil || err2 != nil || shared > uint64(len(rr.path)) || suffix > 1<<16 {
		rr.err = errBadRecord
		return false
	}
	rr.path = rr.path[:shared]
	start := len(rr.path)
	rr.path = slices.Grow(rr.path, int(suffix))[:start+int(suffix)]
	if _, err := io.ReadFull(c, rr.path[start:]); err != nil {
		rr.err = errBadRecord
		return false
	}
	size, e1 := binary.ReadUvarint(c)
	mtime, e2 := binary.ReadVarint(c)
	mode, e3 := binary.ReadUvarint(c)
	uid, e4 := binary.ReadUvarint(c)
	gid, e5 := binary.ReadUvarint(c)
	flag, e6 := c.ReadByte()
	if e1 != nil || e2 != nil || e3 != nil || e4 != nil || e5 != nil || e6 != nil {
		rr.err = errBadRecord
		return false
	}
	*f = File{Path: string(rr.path), Size: int64(size), ModTime: mtime, Mode: fs.FileMode(mode), UID: uint32(uid), GID: uint32(gid)}
	if flag == 1 {
		var h [8]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			rr.err = errBadRecord
			return false
		}
		f.hash, f.hashed = binary.BigEndian.Uint64(h[:]), true
	}
	rr.left -= c.n
	if rr.left < 0 {
		rr.err = errBadRecord
		return false
	}
	return true
}

func (rr *recordReader) Close() error { return rr.f.Close() }

type countReader struct {
	r *bufio.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}
