package buildreport

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// CI is the CI system a build runs under, read from its environment.
type CI struct {
	Kind CIKind
	// Summary is GitHub's $GITHUB_STEP_SUMMARY, "" when unset.
	Summary string
}

// CIKind names a CI system.
type CIKind string

const (
	NoCI   CIKind = ""
	GitHub CIKind = "github"
	GitLab CIKind = "gitlab"
)

// DetectCI reads the CI system from getenv (os.Getenv in a build).
func DetectCI(getenv func(string) string) CI {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		return CI{Kind: GitHub, Summary: getenv("GITHUB_STEP_SUMMARY")}
	case getenv("GITLAB_CI") == "true":
		return CI{Kind: GitLab}
	}
	return CI{}
}

// GroupStart is the line that opens a folded group of log lines named
// name (a build stage): "::group::name" on GitHub, a collapsed
// "section_start" on GitLab, "" elsewhere.
func (c CI) GroupStart(name string, now time.Time) string {
	switch c.Kind {
	case GitHub:
		return "::group::" + oneLine(name) + "\n"
	case GitLab:
		return fmt.Sprintf("\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", now.Unix(), sectionName(name), oneLine(name))
	}
	return ""
}

// GroupEnd closes the group GroupStart opened.
func (c CI) GroupEnd(name string, now time.Time) string {
	switch c.Kind {
	case GitHub:
		return "::endgroup::\n"
	case GitLab:
		return fmt.Sprintf("\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", now.Unix(), sectionName(name))
	}
	return ""
}

var notSectionChar = regexp.MustCompile(`[^a-z0-9_.-]+`)

// sectionName is name as GitLab accepts a section's: [a-z0-9_.-].
func sectionName(name string) string {
	s := strings.Trim(notSectionChar.ReplaceAllString(strings.ToLower(name), "_"), "_")
	if s == "" {
		s = "build"
	}
	return s
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// AppendSummary appends the report as Markdown to GitHub's step summary
// file; it does nothing when there is none.
func (c CI) AppendSummary(r *Report) error {
	if c.Kind != GitHub || c.Summary == "" {
		return nil
	}
	f, err := os.OpenFile(c.Summary, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	werr := WriteMarkdown(f, r)
	if err := f.Close(); werr == nil {
		werr = err
	}
	return werr
}
