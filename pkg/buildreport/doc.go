// Package buildreport explains a build after it ran: what was sent, what
// changed in the context since the last build of it, which steps were
// cached, the first step that missed the cache and why, and what was slow.
//
// It knows nothing of cobra, the terminal or either builder: a builder
// fills a Build (steps, args, bases, bytes sent) and feeds the context's
// files to a Recorder as its own walk meets them; Finish keeps a small
// record of the build under the user's cache directory and returns a
// Report, which the renderers print as text, JSON, GitHub Actions
// Markdown or GitLab CI sections.
package buildreport
