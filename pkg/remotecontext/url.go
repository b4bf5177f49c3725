// Package remotecontext prepares the two kinds of remote build context the
// docker CLI handles itself on the legacy builder path: Git repositories,
// which are cloned into a temporary directory that is then used like a local
// context, and plain http(s) URLs, which are downloaded and reported with
// docker's "Downloading build context from remote url" progress lines.
//
// Error texts are docker's (v28) without the "unable to prepare context: "
// prefix the caller adds.
package remotecontext

import (
	"net/url"
	"regexp"
	"strings"
)

// gitSuffix is docker's test for http(s) URLs naming a Git repository: the
// text ends in ".git", optionally followed by a non-empty "#fragment" (as in
// Go's regexp, "." does not match a newline).
var gitSuffix = regexp.MustCompile(`\.git(?:#.+)?$`)

// IsURL reports whether s starts with "http://" or "https://" (case
// sensitive; nothing else is checked), as docker decides for remote contexts.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// IsGitURL reports whether docker (v28) treats s as a Git repository: an
// http(s) URL whose text ends in ".git" optionally followed by "#<ref>[:dir]",
// or a string starting with "git://", "github.com/" or "git@". "ssh://" URLs
// are not recognised. The caller must check first that s is not an existing
// local path.
func IsGitURL(s string) bool {
	if IsURL(s) && gitSuffix.MatchString(s) {
		return true
	}
	for _, p := range []string{"git://", "github.com/", "git@"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// urlScheme is the lowercased scheme of s, "" when s does not parse.
func urlScheme(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Scheme
}

// isGitTransport reports whether git can use s as it stands; anything else
// gets "https://" prefixed.
func isGitTransport(s string) bool {
	if strings.HasPrefix(s, "git@") {
		return true
	}
	switch urlScheme(s) {
	case "git", "http", "https", "ssh":
		return true
	}
	return false
}
