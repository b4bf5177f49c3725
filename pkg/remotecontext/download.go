package remotecontext

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mybuild/mybuild/pkg/jsonstream"
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
	return newProgress(resp.Body, progress, "Downloading build context from remote url: "+remoteURL, resp.ContentLength, time.Now), nil
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

// newProgress wraps body in the reader that prints docker's download lines
// (its pkg/progress.Reader feeding a streamformatter.NewProgressOutput on
// a plain writer). Closing it closes body.
func newProgress(body io.ReadCloser, out io.Writer, action string, size int64, now func() time.Time) io.ReadCloser {
	p := &progressLines{out: out, action: action, size: size, now: now}
	return struct {
		io.Reader
		io.Closer
	}{&jsonstream.ProgressReader{R: body, Report: p.report}, body}
}

// progressLines decides which counts are printed.
type progressLines struct {
	out    io.Writer
	action string
	size   int64 // Content-Length, -1 when unknown
	now    func() time.Time

	lastUpdate  int64
	lastPrinted time.Time
	printed     bool
}

func (p *progressLines) report(current int64, n int, err error) {
	every := int64(progressUpdateEvery)
	if p.size > 0 {
		if inc := int64(0.01 * float64(p.size)); inc < every {
			every = inc
		}
	}
	if current-p.lastUpdate > every || err != nil {
		p.update(current, err != nil && n == 0)
		p.lastUpdate = current
	}
}

// update prints an update unless the rate limit (a token bucket of one
// token refilled every 100ms) drops it; complete and last updates always
// print, without taking the token.
func (p *progressLines) update(current int64, last bool) {
	if !last && current != p.size {
		now := p.now()
		if p.printed && now.Sub(p.lastPrinted) < progressMinInterval {
			return
		}
		p.printed, p.lastPrinted = true, now
	}
	s := renderProgress(current, p.size)
	line := p.action + " " + s + "\r"
	if s == "" {
		line += "\n"
	}
	if last {
		line += "\r\n"
	}
	_, _ = io.WriteString(p.out, line)
}

// renderProgress is docker's rendering of a byte count off a terminal.
func renderProgress(current, total int64) string {
	return jsonstream.FormatProgress(&jsonstream.Progress{Current: current, Total: total}, 0, nil)
}
