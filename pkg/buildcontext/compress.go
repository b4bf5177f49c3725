package buildcontext

import (
	"compress/gzip"
	"io"
	"runtime"

	"github.com/klauspost/pgzip"
)

// Compress gzips r on the fly with pgzip (parallel blocks, default level,
// the daemon detects gzip by its magic bytes). The returned reader ends
// with r's error, if any.
func Compress(r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		zw, err := pgzip.NewWriterLevel(pw, gzip.DefaultCompression)
		if err == nil {
			err = zw.SetConcurrency(1<<20, 2*runtime.GOMAXPROCS(0))
		}
		if err == nil {
			_, err = io.Copy(zw, r)
			if cerr := zw.Close(); err == nil {
				err = cerr
			}
		}
		pw.CloseWithError(err)
	}()
	return pr
}
