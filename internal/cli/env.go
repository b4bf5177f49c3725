package cli

import (
	"fmt"
	"io"
)

// envVar is one environment variable that mybuild reads.
type envVar struct {
	Name string
	Use  string // for --help, one short line
	// Library: read by a package mybuild uses, not by a call in its own
	// code (the test that checks this table against the code skips it).
	Library bool
}

// environment is every variable mybuild reads from its environment:
// --help prints it, and a test checks it against the code and README.md.
var environment = []envVar{
	{Name: "DOCKER_HOST", Use: "daemon to connect to, as -H"},
	{Name: "DOCKER_CONTEXT", Use: "context to use, as --context"},
	{Name: "DOCKER_CONFIG", Use: "config directory, as --config (~/.docker)"},
	{Name: "DOCKER_API_VERSION", Use: "API version, instead of negotiating one"},
	{Name: "DOCKER_DEFAULT_PLATFORM", Use: "default of --platform"},
	{Name: "DOCKER_TLS", Use: "default of --tls when not empty"},
	{Name: "DOCKER_TLS_VERIFY", Use: "default of --tlsverify when not empty"},
	{Name: "DOCKER_CERT_PATH", Use: "where ca.pem, cert.pem and key.pem are"},
	{Name: "DOCKER_CUSTOM_HEADERS", Use: "headers k=v,k2=v2 (replace config.json's)"},
	{Name: "DOCKER_BUILDKIT", Use: "0: classic builder; 1: BuildKit (unset: the daemon's choice)"},
	{Name: "DOCKER_CONTENT_TRUST", Use: "1 is refused: content trust is unsupported"},
	{Name: "HTTP_PROXY", Use: "proxy for tcp:// daemons (or http_proxy)", Library: true},
	{Name: "HTTPS_PROXY", Use: "proxy for TLS tcp:// daemons (or https_proxy)", Library: true},
	{Name: "NO_PROXY", Use: "hosts not to proxy (or no_proxy)", Library: true},
	{Name: "HOME", Use: "where ~/.docker and ~/.cache/mybuild are"},
	{Name: "XDG_CACHE_HOME", Use: "where mybuild/reports (the build records) is"},
	{Name: "LocalAppData", Use: "Windows: where mybuild/reports is"},
	{Name: "MYBUILD_TIMEOUT", Use: "wait on a silent daemon (30s; 0 = forever)"},
	{Name: "MYBUILD_COMPRESS", Use: "1: always compress; 0: only with --compress"},
	{Name: "MYBUILD_NO_CREDENTIALS_WARNING", Use: "set: no warning on credentials without TLS"},
	{Name: "MYBUILD_REPORT", Use: "default of --report (text, json); off: keep no record"},
	{Name: "GITHUB_ACTIONS", Use: "true: with --report, the log folded by stage and the report in ::group::s, the report in the step summary"},
	{Name: "GITHUB_STEP_SUMMARY", Use: "GitHub's step summary file, which --report appends to"},
	{Name: "GITLAB_CI", Use: "true: with --report, the log folded by stage and the report in collapsed sections"},
	{Name: "BUILDX_BUILDER", Use: "BuildKit builder to use, as --builder"},
	{Name: "BUILDX_CONFIG", Use: "buildx's state directory ($DOCKER_CONFIG/buildx)"},
	{Name: "BUILDKIT_PROGRESS", Use: "BuildKit progress mode in place of auto"},
	{Name: "SOURCE_DATE_EPOCH", Use: "BuildKit: timestamps of the image, as a build arg"},
	{Name: "BUILDX_GIT_INFO", Use: "0: no git commit and remote in provenance"},
	{Name: "BUILDX_GIT_LABELS", Use: "1 or full: git commit and remote as image labels"},
	{Name: "BUILDX_GIT_CHECK_DIRTY", Use: "1: mark the commit -dirty when the tree is"},
	{Name: "BUILDX_NO_DEFAULT_ATTESTATIONS", Use: "1: no default provenance attestation"},
	{Name: "BUILDX_NO_DEFAULT_OCI_ARTIFACT", Use: "1: attestations not as OCI artifacts"},
	{Name: "BUILDX_DEFAULT_POLICY", Use: "1: buildx's builtin policy too (Docker's own images signed)"},
	{Name: "EXPERIMENTAL_BUILDKIT_SOURCE_POLICY", Use: "a BuildKit source policy file (JSON) for every build"},
	{Name: "BUILDX_NO_DEFAULT_LOAD", Use: "1: the docker driver keeps the image in its cache"},
	{Name: "BUILDX_METADATA_PROVENANCE", Use: "min, max or disabled: provenance in --metadata-file"},
	{Name: "BUILDX_METADATA_WARNINGS", Use: "1: build warnings in --metadata-file"},
	{Name: "ACTIONS_RUNTIME_TOKEN", Use: "GitHub Actions cache (type=gha): token"},
	{Name: "ACTIONS_CACHE_URL", Use: "GitHub Actions cache: URL"},
	{Name: "ACTIONS_RESULTS_URL", Use: "GitHub Actions cache: URL (service v2)"},
	{Name: "ACTIONS_CACHE_SERVICE_V2", Use: "GitHub Actions cache: 1 for service v2"},
	{Name: "NO_COLOR", Use: "set: no colour in the terminal view"},
	{Name: "TERM", Use: "dumb: no colour in the terminal view"},
}

// writeEnvironment prints the table for --help.
func writeEnvironment(w io.Writer) {
	fmt.Fprintln(w, "Environment (DOCKER_* and the proxies as for docker):")
	for _, v := range environment {
		fmt.Fprintf(w, "  %-31s %s\n", v.Name, v.Use)
	}
	fmt.Fprintln(w, "  A --build-arg NAME without =value takes NAME from the environment.")
}
