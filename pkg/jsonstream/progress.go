package jsonstream

import "io"

// ProgressReader counts the bytes read from R for a progress display.
// Report is called once before the first Read with (0, 0, nil), where a
// meter's clock starts, then after every Read with the running total, the
// Read's own count and its error. What is shown, and when, is Report's
// business: docker's final line (FinalLine), the live UploadMeter, or the
// download lines of package remotecontext.
type ProgressReader struct {
	R      io.Reader
	Report func(total int64, n int, err error)

	total   int64
	started bool
}

// Read implements io.Reader.
func (p *ProgressReader) Read(b []byte) (int, error) {
	if !p.started {
		p.started = true
		p.Report(0, 0, nil)
	}
	n, err := p.R.Read(b)
	p.total += int64(n)
	p.Report(p.total, n, err)
	return n, err
}

// FinalLine is what docker prints for an upload off a terminal, where it
// shows only the last update: "<action> <size>\r\r\n" on w at EOF.
func FinalLine(w io.Writer, action string) func(total int64, n int, err error) {
	done := false
	return func(total int64, _ int, err error) {
		if err == io.EOF && !done {
			done = true
			_, _ = io.WriteString(w, action+" "+HumanSize(total)+"\r\r\n")
		}
	}
}
