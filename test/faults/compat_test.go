//go:build linux

package faults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// engine20 is Engine 20.10, whose BuildKit (v0.8) has neither the
// Dockerfile frontend's lint request nor attestations.
const engine20 = "unix:///var/run/docker.sock"

// TestOldBuildKit: row 10, a builder that is up but too old for what the
// build asks: --call check (the frontend's lint subrequest) and --sbom on
// Engine 20.10. Both clients exit 1 with the same last error line.
func TestOldBuildKit(t *testing.T) {
	need(t, engine20)
	for _, tc := range []struct {
		row, flag, says string
	}{
		{row: "10a. --call check on Engine 20.10's BuildKit", flag: "--call=check", says: "unsupported request frontend.lint"},
		{row: "10b. --sbom on Engine 20.10's BuildKit", flag: "--sbom=true", says: "Attestation is not supported for the docker driver."},
	} {
		t.Run(tc.row, func(t *testing.T) {
			got := eachClient(t, tc.row, want{code: 1, within: 30, clean: true}, func(t *testing.T, c client) (outcome, []string) {
				dir := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN true\n"})
				env := bed.env("DOCKER_HOST="+engine20, "DOCKER_BUILDKIT=1")
				o := c.start(t, dir, env, "--progress", "plain", tc.flag, ".").wait(hangLimit)
				return o, []string{tc.says}
			})
			ref, cand := got["buildx"], got["mybuild"]
			if diff := cmp.Diff([]any{ref.code, ref.lastErr}, []any{cand.code, cand.lastErr}); diff != "" {
				t.Errorf("exit code and last error line (-buildx +mybuild):\n%s", diff)
			}
		})
	}
}
