//go:build linux

package faults

import (
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// smallDisk mounts a tmpfs of 1 MiB at a new directory, unmounted when
// the test ends.
func smallDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		need(t) // fails under MYBUILD_E2E=1
		t.Skip("mounting a tmpfs needs root")
	}
	dir := testDir(t, "disk")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// filesUnder lists the files under dir with their sizes.
func filesUnder(dir string) []string {
	var left []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			rel, _ := filepath.Rel(dir, p)
			left = append(left, fmt.Sprintf("%s (%d bytes)", rel, fi.Size()))
		}
		return nil
	})
	return left
}

// TestFullDisk: row 8, -o type=local and -o type=tar onto a filesystem
// too small for the output: the exit code buildx gives (1 for local; 102,
// its code for gRPC's ResourceExhausted, for tar), an error naming the
// destination and the full disk. buildx leaves the tar's first MiB at
// dest; mybuild removes it. Of a local directory both leave the file being
// written (the build failed: nothing claims it complete); buildx's error
// names it or says only EOF (the daemon's race), mybuild's always names
// the destination.
func TestFullDisk(t *testing.T) {
	need(t, engine29)
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row, output, dest string
		code              int
		clean             bool
	}{
		{row: "8a. -o type=local onto a full disk", output: "type=local,dest=", dest: "d", code: 1},
		{row: "8b. -o type=tar onto a full disk", output: "type=tar,dest=", dest: "x.tar", code: 102, clean: true},
	} {
		t.Run(tc.row, func(t *testing.T) {
			got := eachClient(t, tc.row, want{code: tc.code, within: 60, clean: tc.clean}, func(t *testing.T, c client) (outcome, []string) {
				disk := smallDisk(t)
				dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY big /big\n", "big": string(big)})
				dest := filepath.Join(disk, tc.dest)
				o := c.start(t, dir, bed.env("DOCKER_HOST="+engine29), "--progress", "plain", "-o", tc.output+dest, ".").wait(hangLimit)
				o.left = filesUnder(disk)
				// Of a local output BuildKit's daemon answers the
				// receiver's error or a bare EOF, whichever it sees first;
				// mybuild tells the EOF of a full destination as such.
				return o, []string{dest, "no space left on device"}
			})
			if ref, cand := got["buildx"], got["mybuild"]; ref.code != cand.code {
				t.Errorf("exit code: buildx %d, mybuild %d", ref.code, cand.code)
			}
		})
	}
}
