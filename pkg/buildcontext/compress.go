package buildcontext

import (
	"compress/gzip"
	"io"

	"github.com/klauspost/pgzip"
)

// Compress gzips r on the fly with pgzip (four 256 KiB blocks in flight:
// near single-stream gzip size, peak memory below docker's; default level,
// the daemon detects gzip by its magic bytes). The returned reader ends
// with r's error, if any; closing it closes r.
func Compress(r io.ReadCloser) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		zw, err := pgzip.NewWriterLevel(pw, gzip.DefaultCompression)
		if err == nil {
			err = zw.SetConcurrency(256<<10, 4)
		}
		if err == nil {
			_, err = io.Copy(zw, r)
			if cerr := zw.Close(); err == nil {
				err = cerr
			}
		}
		pw.CloseWithError(err)
	}()
	return &closeBoth{ReadCloser: pr, src: r}
}

// closeBoth closes the compressed stream and its source.
type closeBoth struct {
	io.ReadCloser
	src io.Closer
}

func (c *closeBoth) Close() error {
	err := c.ReadCloser.Close()
	if serr := c.src.Close(); err == nil {
		err = serr
	}
	return err
}
