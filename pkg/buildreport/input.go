package buildreport

import "time"

// Build is what a builder knows of one build once it is over.
type Build struct {
	Builder  string // "classic" or "buildkit"
	Started  time.Time
	Duration time.Duration
	Steps    []Step

	// Args are the build args given (--build-arg), values as given. The
	// record keeps no value that looks like a secret, nor prints one.
	Args          map[string]string
	Target        string
	Platforms     []string
	NoCache       bool
	NoCacheFilter []string // stage names
	// Bases maps each FROM reference to the digest (BuildKit) or image
	// ID (classic) it resolved to.
	Bases map[string]string

	BytesSent int64 // context bytes sent to the daemon
	FilesSent int64 // files sent (BuildKit: those the daemon asked for)

	Error string // the build's error, "" when it succeeded
}

// Step is one instruction of the build as the builder ran it.
type Step struct {
	// Stage names the stage the step belongs to: its AS name, else its
	// index from 0 ("0", "1"); "" when the builder cannot tell.
	Stage string
	// Text is the instruction as the user wrote it ("COPY . /app").
	Text     string
	Cached   bool
	Started  time.Time
	Duration time.Duration
	Error    string   // why it failed, "" unless it did
	Log      []string // its last log lines, for a failed step
}

// IsFrom says whether the step is a FROM, which is resolved rather than
// cached or run: it is left out of the cached count and of the misses.
func (s Step) IsFrom() bool { return instrCmd(s.Text) == "FROM" }
