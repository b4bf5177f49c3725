package engine

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// secretHeaders never appear in debug output.
var secretHeaders = map[string]bool{
	"X-Registry-Config": true,
	"X-Registry-Auth":   true,
	"Authorization":     true,
	"Cookie":            true,
}

// debugTransport logs each request and response line, with credentials
// redacted.
type debugTransport struct {
	next http.RoundTripper
	w    io.Writer
}

func (d *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	fmt.Fprintf(d.w, "DEBU %s %s%s\n", req.Method, RedactURL(req.URL.String()), formatHeaders(req.Header))
	resp, err := d.next.RoundTrip(req)
	if err != nil {
		fmt.Fprintf(d.w, "DEBU %s %s failed after %s: %s\n", req.Method, req.URL.Path, time.Since(start).Round(time.Millisecond), RedactURL(err.Error()))
		return nil, err
	}
	fmt.Fprintf(d.w, "DEBU %s %s -> %s after %s\n", req.Method, req.URL.Path, resp.Status, time.Since(start).Round(time.Millisecond))
	return resp, nil
}

func formatHeaders(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		if secretHeaders[http.CanonicalHeaderKey(k)] {
			v = "<redacted>"
		}
		fmt.Fprintf(&b, " %s=%q", k, v)
	}
	return b.String()
}

// RedactURL hides the password of every URL with user information in s
// ("https://user:secret@host" becomes "https://user:xxxxx@host").
func RedactURL(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		trimmed := strings.Trim(f, `"'():,`)
		u, err := url.Parse(trimmed)
		if err != nil || u.User == nil || u.Host == "" {
			continue
		}
		if _, has := u.User.Password(); has {
			fields[i] = strings.Replace(f, trimmed, u.Redacted(), 1)
		}
	}
	if len(fields) == 0 {
		return s
	}
	// Keep the original spacing when nothing changed.
	if out := strings.Join(fields, " "); out != strings.Join(strings.Fields(s), " ") {
		return out
	}
	return s
}
