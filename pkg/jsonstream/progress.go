package jsonstream

import (
	"io"
	"sync"
	"time"
)

// ProgressReader counts the bytes read through it and writes docker's
// "<action> <size>\r" lines to W: on a terminal every 512 KiB (at most ten
// a second), otherwise only the last one; "\r\n" ends the line at EOF.
type ProgressReader struct {
	R        io.Reader
	W        io.Writer
	Action   string
	Terminal bool

	mu       sync.Mutex
	n        int64
	lastN    int64
	lastTime time.Time
	done     bool
}

// Read implements io.Reader.
func (p *ProgressReader) Read(b []byte) (int, error) {
	n, err := p.R.Read(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if err != nil {
		if err == io.EOF && !p.done {
			p.done = true
			p.write(p.n)
			_, _ = io.WriteString(p.W, "\r\n")
		}
		return n, err
	}
	if p.Terminal && p.n-p.lastN > 512<<10 && time.Since(p.lastTime) >= 100*time.Millisecond {
		p.lastN, p.lastTime = p.n, time.Now()
		p.write(p.n)
	}
	return n, err
}

// Count returns the bytes read so far.
func (p *ProgressReader) Count() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *ProgressReader) write(n int64) {
	_, _ = io.WriteString(p.W, p.Action+" "+HumanSize(n)+"\r")
}
