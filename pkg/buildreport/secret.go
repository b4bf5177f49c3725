package buildreport

import (
	"regexp"
	"strings"
)

// secretName is BuildKit's SecretsUsedInArgOrEnv idea: a name made of
// words such as TOKEN or PASSWORD.
var secretName = regexp.MustCompile(`(?i)(?:^|_)(?:apikey|auth|credentials?|key|passwd|password|pass|pword|secret|token|pat)(?:_|$)`)

// secretPrefixes begin well-known token formats.
var secretPrefixes = []string{"ghp_", "gho_", "ghs_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "AKIA", "sk-", "-----BEGIN"}

// LooksSecret says whether a build arg could hold a secret, by its name
// or by its value: such a value is never stored nor printed.
func LooksSecret(name, value string) bool {
	if secretName.MatchString(name) && !strings.Contains(strings.ToLower(name), "public") {
		return true
	}
	for _, p := range secretPrefixes {
		if strings.HasPrefix(value, p) {
			return true
		}
	}
	return looksRandom(value)
}

// looksRandom is a long word mixing letters and digits with no separator
// a version or a path would have.
func looksRandom(v string) bool {
	if len(v) < 20 || strings.ContainsAny(v, " /.:") {
		return false
	}
	var lower, upper, digit bool
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	return digit && (lower || upper) && (lower && upper || len(v) >= 32)
}
