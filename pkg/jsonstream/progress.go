package jsonstream

import "io"

// ProgressReader counts the bytes read through it and writes docker's
// "<action> <size>\r" line to W at EOF, followed by "\r\n": what docker
// prints off a terminal, where it shows only the last update.
type ProgressReader struct {
	R      io.Reader
	W      io.Writer
	Action string

	n    int64
	done bool
}

// Read implements io.Reader.
func (p *ProgressReader) Read(b []byte) (int, error) {
	n, err := p.R.Read(b)
	p.n += int64(n)
	if err == io.EOF && !p.done {
		p.done = true
		_, _ = io.WriteString(p.W, p.Action+" "+HumanSize(p.n)+"\r\r\n")
	}
	return n, err
}
