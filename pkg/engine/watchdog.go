package engine

import (
	"context"
	"io"
	"sync"
	"time"
)

// watchUpload calls stall when the HTTP transport has not asked body for
// more bytes for longer than limit: the daemon stopped reading and the
// connection's buffers are full. Time spent inside body's own Read (a slow
// disk) does not count.
func watchUpload(ctx context.Context, body io.Reader, limit time.Duration, stall func()) io.Reader {
	w := &watchedBody{r: body, last: time.Now()}
	go func() {
		tick := time.NewTicker(limit / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if w.stalled(limit) {
					stall()
					return
				}
			}
		}
	}()
	return w
}

type watchedBody struct {
	r      io.Reader
	mu     sync.Mutex
	last   time.Time
	inRead bool
	done   bool
}

func (w *watchedBody) Read(p []byte) (int, error) {
	w.mu.Lock()
	w.inRead = true
	w.mu.Unlock()
	n, err := w.r.Read(p)
	w.mu.Lock()
	w.inRead, w.last = false, time.Now()
	if err != nil {
		w.done = true
	}
	w.mu.Unlock()
	return n, err
}

func (w *watchedBody) stalled(limit time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.done && !w.inRead && time.Since(w.last) > limit
}
