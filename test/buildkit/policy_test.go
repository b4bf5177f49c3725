//go:build linux

package buildkit

import (
	"slices"
	"strings"
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
)

// Policies (Rego) the cases use. Engine 20.10's BuildKit never asks the
// session for a decision: there, both clients load the policies and build
// as if they allowed everything.
const (
	// allowBase allows the context and the base image, nothing else.
	allowBase = "package docker\n\ndefault allow := false\n\nallow if input.local\n\nallow if input.image.repo == \"" + base + "\"\n\ndecision := {\"allow\": allow}\n"
	// denyImages denies every image, saying which.
	denyImages = "package docker\n\ndefault allow := false\n\nallow if input.local\n\nallow if input.git\n\ndeny_msg contains msg if {\n\tnot allow\n\tmsg := sprintf(\"image %s is not allowed\", [input.image.repo])\n}\n\ndecision := {\"allow\": allow, \"deny_msg\": deny_msg}\n"
	// byArg allows an image only with --build-arg TRUSTED=yes.
	byArg = "package docker\n\ndefault allow := false\n\nallow if input.local\n\nallow if {\n\tinput.image\n\tinput.env.args.TRUSTED == \"yes\"\n}\n\ndecision := {\"allow\": allow}\n"
	// byTarget denies any build of the target named "release".
	byTarget = "package docker\n\ndefault allow := true\n\nallow := false if input.env.target == \"release\"\n\ndecision := {\"allow\": allow}\n"
	// denyBaseSP is BuildKit's own source policy (JSON) denying the base.
	denyBaseSP = `{"rules":[{"action":1,"selector":{"identifier":"docker-image://docker.io/` + base + `:latest"}}]}`
	badRego    = "package docker\n\ndecision := {\"allow\": \n"
)

// TestPolicy: the Dockerfile's own policy (Dockerfile.rego beside it) and
// --policy, as buildx v0.38.2 loads and evaluates them.
func TestPolicy(t *testing.T) {
	baseDF := "FROM " + base + "\nCOPY a.txt /\n"
	stagesDF := "FROM " + base + " AS build\nCOPY a.txt /\n\nFROM scratch AS release\nCOPY --from=build /a.txt /\n"
	local := []string{"-o", "type=local,dest={out}/d"}
	with := func(a ...string) []string { return append(append(a, local...), ".") }
	denied := files("Dockerfile", baseDF, "Dockerfile.rego", denyImages, "a.txt", "a\n")
	cases := []bkCase{
		{name: "Dockerfile.rego allows", files: files("Dockerfile", baseDF, "Dockerfile.rego", allowBase, "a.txt", "a\n"), args: with()},
		{name: "Dockerfile.rego denies, with a message", files: denied, args: with()},
		{name: "a cold cache, denied", files: denied, cold: true, args: with()},
		{name: "-f names the policy: build.Dockerfile.rego", files: files("build.Dockerfile", baseDF, "build.Dockerfile.rego", denyImages, "Dockerfile.rego", allowBase, "a.txt", "a\n"),
			args: with("-f", "build.Dockerfile")},
		{name: "a Dockerfile in a subdirectory: the policy beside it", files: files("sub/Dockerfile", baseDF, "sub/Dockerfile.rego", denyImages, "a.txt", "a\n"),
			args: with("-f", "sub/Dockerfile")},
		{name: "lowercase dockerfile: dockerfile.rego", files: files("dockerfile", baseDF, "dockerfile.rego", denyImages, "a.txt", "a\n"), args: with()},
		{name: "a Dockerfile from stdin: no policy of the context", files: files("Dockerfile.rego", denyImages, "a.txt", "a\n"), stdin: baseDF, args: with("-f", "-")},
		{name: "--policy adds a file to the Dockerfile's", files: files("Dockerfile", baseDF, "Dockerfile.rego", allowBase, "extra.rego", denyImages, "a.txt", "a\n"),
			args: with("--policy", "filename=extra.rego")},
		{name: "--policy reset=true drops the Dockerfile's", files: files("Dockerfile", baseDF, "Dockerfile.rego", denyImages, "ok.rego", allowBase, "a.txt", "a\n"),
			args: with("--policy", "reset=true,filename=ok.rego")},
		{name: "--policy cwd:// file", files: files("Dockerfile", baseDF, "pol/p.rego", denyImages, "a.txt", "a\n"),
			args: with("--policy", "filename=cwd://pol/p.rego")},
		{name: "--policy disabled=true", files: denied, args: with("--policy", "disabled=true")},
		{name: "--policy log-level=warn: no decisions shown", files: denied, args: with("--policy", "log-level=warn")},
		{name: "--policy with two files", files: files("Dockerfile", baseDF, "a.rego", allowBase, "b.rego", denyImages, "a.txt", "a\n"),
			args: with("--policy", "reset=true,filename=a.rego,filename=b.rego")},
		{name: "build args reach the policy", files: files("Dockerfile", baseDF, "Dockerfile.rego", byArg, "a.txt", "a\n"), args: with("--build-arg", "TRUSTED=yes")},
		{name: "without the build arg the policy denies", files: files("Dockerfile", baseDF, "Dockerfile.rego", byArg, "a.txt", "a\n"), args: with()},
		{name: "the target reaches the policy", files: files("Dockerfile", stagesDF, "Dockerfile.rego", byTarget, "a.txt", "a\n"), args: with("--target", "release")},
		{name: "a policy file that is not there", files: files("Dockerfile", baseDF, "a.txt", "a\n"), args: with("--policy", "filename=nosuch.rego")},
		{name: "a policy that does not parse", files: files("Dockerfile", baseDF, "Dockerfile.rego", badRego, "a.txt", "a\n"), args: with()},
		{name: "disabled with another flag", files: denied, args: with("--policy", "disabled=true,strict=true")},
		{name: "an unknown --policy key", files: denied, args: with("--policy", "colour=red")},
		{name: "strict=true", files: files("Dockerfile", baseDF, "Dockerfile.rego", allowBase, "a.txt", "a\n"), args: with("--policy", "strict=true")},
		{name: "EXPERIMENTAL_BUILDKIT_SOURCE_POLICY denies the base", files: files("Dockerfile", baseDF, "a.txt", "a\n", "../sp.json", denyBaseSP),
			env: []string{"EXPERIMENTAL_BUILDKIT_SOURCE_POLICY={root}/sp.json"}, args: with()},
		{name: "EXPERIMENTAL_BUILDKIT_SOURCE_POLICY that does not parse", files: files("Dockerfile", baseDF, "a.txt", "a\n", "../sp.json", "{"),
			env: []string{"EXPERIMENTAL_BUILDKIT_SOURCE_POLICY={root}/sp.json"}, args: with()},
		{name: "BUILDX_DEFAULT_POLICY=1: buildx's builtin policy first", files: files("Dockerfile", baseDF, "Dockerfile.rego", allowBase, "a.txt", "a\n"),
			env: []string{"BUILDX_DEFAULT_POLICY=1"}, args: with()},
		{name: "BUILDX_DEFAULT_POLICY=1 and disabled=true", files: denied, env: []string{"BUILDX_DEFAULT_POLICY=1"}, args: with("--policy", "disabled=true")},
		{name: "a git context's Dockerfile.rego denies", args: []string{"-o", "type=local,dest={out}/d", "http://{http}/policy.git#main"},
			racyEnd: []string{"[internal] load git source http://{http}/policy.git#main"}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			need(t, e)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { compare(t, e, tc) })
			}
		})
	}
}

// policyStep is the policies' step: its messages come from decisions the
// daemon asks for side by side, and it opens again after each quiet
// half-second, so its log lines are compared as a set and its count not.
func policyStep(p *testbed.Progress) {
	for i, v := range p.Vertices {
		if strings.HasPrefix(v.Name, "loading policies ") {
			slices.Sort(p.Vertices[i].Logs)
			p.Vertices[i].Count = 1
		}
	}
}
