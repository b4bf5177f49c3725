package enginetest

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"time"
)

// Call is one HTTP request the daemon received, in arrival order.
type Call struct {
	Method   string
	Path     string
	RawQuery string
	Host     string
	Header   http.Header
}

// Request is one /build request as the daemon received it.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Query    url.Values
	Host     string
	Header   http.Header
	// TransferEncoding and ContentLength are as Go's server reports them:
	// a chunked upload has []string{"chunked"} and -1.
	TransferEncoding []string
	ContentLength    int64

	// BodySize is the number of body bytes received (compressed, if the
	// body was) and BodySHA256 their hex SHA-256.
	BodySize   int64
	BodySHA256 string
	// Compression is what the body's magic bytes say: "", "gzip",
	// "bzip2", "xz" or "zstd". Gzip is true for "gzip".
	Compression string
	Gzip        bool

	// Entries are the tar entries in the order received. A body that ends
	// early (docker's -f - mode omits the tar trailer) still has every
	// entry read until then.
	Entries []Entry
	// TarError is the error that ended reading the tar early, if any. A
	// tar without its end-of-archive marker (docker's -f - mode, an empty
	// body) says "truncated tar: missing end-of-archive marker"; an xz or
	// zstd body is not decoded and says so here.
	TarError string
}

// Entry is one tar header plus a digest of its content.
type Entry struct {
	Name       string
	Typeflag   byte
	Mode       int64
	Uid        int
	Gid        int
	Uname      string
	Gname      string
	ModTime    time.Time
	Size       int64
	Linkname   string
	Devmajor   int64
	Devminor   int64
	PAXRecords map[string]string
	// Format is the header format archive/tar detected: "USTAR", "PAX",
	// "GNU" or "<unknown>" (V7).
	Format string
	// SHA256 is the hex SHA-256 of the content bytes read (of the bytes
	// present, for a truncated last entry).
	SHA256 string
	// Content is the start of the content, with WithEntryContent.
	Content []byte
}

// Compression magic numbers, as go-archive's DetectCompression knows them.
var magics = []struct {
	name  string
	magic []byte
}{
	{"bzip2", []byte{0x42, 0x5A, 0x68}},
	{"gzip", []byte{0x1F, 0x8B, 0x08}},
	{"xz", []byte{0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00}},
	{"zstd", []byte{0x28, 0xB5, 0x2F, 0xFD}},
}

func detectCompression(b []byte) string {
	for _, m := range magics {
		if bytes.HasPrefix(b, m.magic) {
			return m.name
		}
	}
	// zstd skippable frames: 0x184D2A50 to 0x184D2A5F, little endian.
	if len(b) >= 4 && b[0]&0xF0 == 0x50 && b[1] == 0x2A && b[2] == 0x4D && b[3] == 0x18 {
		return "zstd"
	}
	return ""
}

// recordBuild reads r's body to the end and returns what it holds. The
// request is recorded even if the body ends with an error (a client that
// gave up mid-upload): the entries read so far are kept.
func recordBuild(r *http.Request, contentLimit int64) Request {
	req := Request{
		Method:           r.Method,
		Path:             r.URL.Path,
		RawQuery:         r.URL.RawQuery,
		Query:            r.URL.Query(),
		Host:             r.Host,
		Header:           r.Header.Clone(),
		TransferEncoding: append([]string(nil), r.TransferEncoding...),
		ContentLength:    r.ContentLength,
	}
	body, bodyErr := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	req.BodySize = int64(len(body))
	req.BodySHA256 = hex.EncodeToString(sum[:])
	req.Compression = detectCompression(body)
	req.Gzip = req.Compression == "gzip"

	var tr io.Reader = bytes.NewReader(body)
	switch req.Compression {
	case "gzip":
		zr, err := gzip.NewReader(tr)
		if err != nil {
			req.TarError = "gzip: " + err.Error()
			return req
		}
		tr = zr
	case "bzip2":
		tr = bzip2.NewReader(tr)
	case "xz", "zstd":
		req.TarError = fmt.Sprintf("enginetest: %s body not decoded", req.Compression)
		return req
	}
	req.Entries, req.TarError = readEntries(tr, contentLimit)
	if req.TarError == "" && bodyErr != nil {
		req.TarError = "body: " + bodyErr.Error()
	}
	return req
}

// errNoTrailer is reported for a tar that ends without its end-of-archive
// marker (two zero blocks), or without the padding of its last entry:
// archive/tar accepts that silently.
const errNoTrailer = "truncated tar: missing end-of-archive marker"

// readEntries reads tar entries until the end of the archive or the first
// error, whose text it returns ("" at a clean end).
func readEntries(r io.Reader, contentLimit int64) ([]Entry, string) {
	cr := &countingReader{r: r}
	var entries []Entry
	var end int64 // offset just after the last entry's content
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			// archive/tar reads exactly what it needs, so the rest of the
			// stream is the last padding plus the marker (and any
			// record padding after it).
			_, _ = io.Copy(io.Discard, cr)
			pad := (blockSize - end%blockSize) % blockSize
			if cr.n-end < pad+2*blockSize {
				return entries, errNoTrailer
			}
			return entries, ""
		}
		if err != nil {
			return entries, err.Error()
		}
		hash := sha256.New()
		var content *prefixWriter
		var w io.Writer = hash
		if contentLimit > 0 {
			content = &prefixWriter{limit: contentLimit}
			w = io.MultiWriter(hash, content)
		}
		_, copyErr := io.Copy(w, tr)
		end = cr.n
		entries = append(entries, Entry{
			Name:       h.Name,
			Typeflag:   h.Typeflag,
			Mode:       h.Mode,
			Uid:        h.Uid,
			Gid:        h.Gid,
			Uname:      h.Uname,
			Gname:      h.Gname,
			ModTime:    h.ModTime,
			Size:       h.Size,
			Linkname:   h.Linkname,
			Devmajor:   h.Devmajor,
			Devminor:   h.Devminor,
			PAXRecords: maps.Clone(h.PAXRecords),
			Format:     h.Format.String(),
			SHA256:     hex.EncodeToString(hash.Sum(nil)),
			Content:    content.bytes(),
		})
		if copyErr != nil {
			return entries, copyErr.Error()
		}
	}
}

const blockSize = 512

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// prefixWriter keeps the first limit bytes written to it.
type prefixWriter struct {
	limit int64
	buf   []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if room := p.limit - int64(len(p.buf)); room > 0 {
		p.buf = append(p.buf, b[:min(int64(len(b)), room)]...)
	}
	return len(b), nil
}

func (p *prefixWriter) bytes() []byte {
	if p == nil || p.buf == nil {
		return nil
	}
	return p.buf
}
