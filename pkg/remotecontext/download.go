package remotecontext

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	units "github.com/docker/go-units"
)

// Download GETs a remote (non-Git) context with Go's default HTTP client, as
// docker's GetContextFromURL does (redirects are followed, HTTP(S)_PROXY and
// NO_PROXY are honoured), and returns the response body. A status >= 400 is
// an error carrying the status and the trimmed body:
//
//	unable to download remote context <url>: failed to GET <url> with status 404 Not Found: <body>
//
// (the caller adds "unable to prepare context: "). Transport errors read
// "unable to download remote context <url>: Get \"<url>\": …".
//
// While the body is read, docker's progress lines go to progress (nil
// discards them): "Downloading build context from remote url: <url> "
// followed by the rendering of the byte count (with a known length a 50-wide
// bar "[===>   ] " and "%8v/%v" human sizes, without one just "%8v"), then
// "\r". An update is due after every 1% of the length (at most every
// 512 KiB) and on every read that returns an error; due updates are printed
// at most once per 100ms except when the count equals the length or the read
// returned no bytes with its error (the "last" update, which appends
// "\r\n"). Exactly which lines appear therefore depends on how the consumer
// reads, as in docker; reading through bufio.Reader.Peek and then to EOF, as
// buildcontext.FromReader does, gives docker's output.
//
// Closing the returned reader closes the response body; it prints nothing.
func Download(ctx context.Context, remoteURL string, progress io.Writer) (io.ReadCloser, error) {
	resp, err := getWithStatusError(ctx, remoteURL)
	if err != nil {
		return nil, fmt.Errorf("unable to download remote context %s: %w", remoteURL, err)
	}
	if progress == nil {
		progress = io.Discard
	}
	return &progressReader{
		body:   resp.Body,
		out:    progress,
		action: "Downloading build context from remote url: " + remoteURL,
		size:   resp.ContentLength,
		now:    time.Now,
	}, nil
}

func getWithStatusError(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < http.StatusBadRequest {
		return resp, nil
	}
	msg := fmt.Sprintf("failed to GET %s with status %s", u, resp.Status)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: error reading body: %w", msg, err)
	}
	return nil, fmt.Errorf("%s: %s", msg, bytes.TrimSpace(body))
}

// progressUpdateEvery is the largest step between two updates.
const progressUpdateEvery = 512 << 10

// progressMinInterval is how often a due update that is neither complete
// nor last may be printed.
const progressMinInterval = 100 * time.Millisecond

// progressReader is docker's pkg/progress.Reader feeding a
// streamformatter.NewProgressOutput on a plain writer.
type progressReader struct {
	body   io.ReadCloser
	out    io.Writer
	action string
	size   int64 // Content-Length, -1 when unknown
	now    func() time.Time

	mu          sync.Mutex
	current     int64
	lastUpdate  int64
	lastPrinted time.Time
	printed     bool
	closeOnce   sync.Once
	closeErr    error
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.body.Read(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.current += int64(n)
	every := int64(progressUpdateEvery)
	if p.size > 0 {
		if inc := int64(0.01 * float64(p.size)); inc < every {
			every = inc
		}
	}
	if p.current-p.lastUpdate > every || err != nil {
		p.update(err != nil && n == 0)
		p.lastUpdate = p.current
	}
	return n, err
}

// update prints an update unless the rate limit (a token bucket of one
// token refilled every 100ms) drops it; complete and last updates always
// print, without taking the token.
func (p *progressReader) update(last bool) {
	if !last && p.current != p.size {
		now := p.now()
		if p.printed && now.Sub(p.lastPrinted) < progressMinInterval {
			return
		}
		p.printed, p.lastPrinted = true, now
	}
	s := renderProgress(p.current, p.size)
	line := p.action + " " + s + "\r"
	if s == "" {
		line += "\n"
	}
	if last {
		line += "\r\n"
	}
	_, _ = io.WriteString(p.out, line)
}

func (p *progressReader) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.body.Close() })
	return p.closeErr
}

// renderProgress is jsonmessage.JSONProgress.String for byte counts off a
// terminal (docker then assumes a width of 200): "" when nothing is known;
// "%8v" of the human size without a total; otherwise a 50-wide bar and
// "%8v/%v" (only "%8v" once current exceeds total).
func renderProgress(current, total int64) string {
	if current <= 0 && total <= 0 {
		return ""
	}
	cur := units.HumanSize(float64(current))
	if total <= 0 {
		return fmt.Sprintf("%8v", cur)
	}
	pct := int(float64(current)/float64(total)*100) / 2
	if pct > 50 {
		pct = 50
	}
	bar := "[" + strings.Repeat("=", pct) + ">" + strings.Repeat(" ", 50-pct) + "] "
	if current > total {
		return bar + fmt.Sprintf("%8v", cur)
	}
	return bar + fmt.Sprintf("%8v/%v", cur, units.HumanSize(float64(total)))
}
