//go:build linux

package builders

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
)

// The docker-container driver's builder, as `docker buildx create --driver
// docker-container` records it. Its container runs on Engine 20.10 under
// buildx's name, made by the test and not privileged (runc refuses a
// privileged container on this machine: its bounding set lacks
// CAP_SYS_RESOURCE); both clients find it running and reach buildkitd
// through `docker exec … buildctl dial-stdio`.
func TestContainerDriver(t *testing.T) {
	need(t, engine20)
	suffix := fmt.Sprint(os.Getpid())
	builder, node := "cont"+suffix, "cont"+suffix+"n0"
	container := "buildx_buildkit_" + node
	image := "mybuild-test/buildkit-driver:" + suffix
	docker := func(args ...string) (string, error) {
		cmd := exec.Command(testbed.Docker.Bin, append([]string{"-H", engine20}, args...)...)
		cmd.Env = bed.env()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if err := importBuildkitImage(t, image); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = docker("rm", "-f", container)
		_, _ = docker("rmi", "-f", image)
		_ = os.Remove(filepath.Join(bed.config, "buildx", "instances", builder))
	})
	// What buildkitd needs here beside privileges: mounts (SYS_ADMIN, no
	// seccomp or AppArmor filter) and a writable cgroup tree for runc.
	if out, err := docker("run", "-d", "--name", container, "--cap-add", "SYS_ADMIN",
		"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", image); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	create := exec.Command(testbed.Docker.Bin, "-H", engine20, "buildx", "create", "--driver", "docker-container", "--name", builder, "--node", node)
	create.Env = bed.env()
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("docker buildx create: %v\n%s", err, out)
	}
	bb, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"Dockerfile": plainDockerfile, "a.txt": "a\n"}
	runFiles := map[string]string{"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo ran > /ran\"]\n", "busybox": string(bb)}
	cases := []testCase{
		{name: "no output warns", files: files, args: []string{"--builder", builder, "."}},
		{name: "local output", files: files, args: []string{"--builder", builder, "-o", "type=local,dest={out}/d", "."},
			artifact: func(who, out string) string { return testbed.PathView(filepath.Join(out, "d")) }},
		{name: "RUN then local output", files: runFiles, args: []string{"--builder", builder, "-o", "type=local,dest={out}/d", "."},
			artifact: func(who, out string) string { return testbed.PathView(filepath.Join(out, "d", "ran")) }},
		{name: "failing RUN", files: map[string]string{"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo out; exit 3\"]\n", "busybox": string(bb)},
			args: []string{"--builder", builder, "."}},
		{name: "load into Engine 20.10", files: runFiles,
			args: []string{"--builder", builder, "--load", "-t", "mybuild-cont:{who}", "."}, images: []string{"mybuild-cont:{who}"},
			artifact: func(who, _ string) string { return loaded(engine20, "mybuild-cont:"+who) }},
		{name: "oci output", files: files, args: []string{"--builder", builder, "-o", "type=oci,dest={out}/x.tar", "."},
			artifact: func(who, out string) string { return testbed.TarFileView(filepath.Join(out, "x.tar")) }},
	}
	for _, tc := range cases {
		tc.host = engine20
		t.Run(tc.name, func(t *testing.T) {
			ctxDir := writeFiles(t, tc.files)
			prune := func() {
				if out, err := docker("buildx", "prune", "--builder", builder, "-af"); err != nil {
					t.Fatalf("prune: %v\n%s", err, out)
				}
			}
			prune()
			ref := runClient(t, tc, ctxDir, "ref")
			prune()
			cand := runClient(t, tc, ctxDir, "cand")
			for _, img := range tc.images {
				for _, w := range []string{"tagref", "tagcand"} {
					_, _ = docker("rmi", "-f", strings.ReplaceAll(img, "{who}", w))
				}
			}
			compareRuns(t, ref, cand)
		})
	}
}

// importBuildkitImage makes a BuildKit image as buildx's default one
// (buildkitd the entry point, buildctl beside it) from the reference
// binaries, a static busybox and the host's runc with its libraries.
func importBuildkitImage(t *testing.T, image string) error {
	tarPath := filepath.Join(t.TempDir(), "buildkit.tar")
	f, err := os.Create(tarPath)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	add := func(src, dst string) error {
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		fi, err := in.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: dst, Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = io.Copy(tw, in)
		return err
	}
	for _, d := range []string{"bin/", "usr/", "usr/bin/", "lib/", "lib/x86_64-linux-gnu/", "lib64/", "tmp/", "etc/", "proc/", "sys/", "dev/", "run/", "var/", "var/lib/", "var/lib/buildkit/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		return err
	}
	for _, p := range [][2]string{
		{"/usr/bin/busybox", "bin/sh"},
		{filepath.Join(filepath.Dir(runc), "runc"), "usr/bin/runc"},
		{"/lib/x86_64-linux-gnu/libseccomp.so.2", "lib/x86_64-linux-gnu/libseccomp.so.2"},
		{"/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"},
		{"/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"},
		{testbed.Buildkitd(), "usr/bin/buildkitd"},
		{testbed.Buildctl(), "usr/bin/buildctl"},
	} {
		if err := add(p[0], p[1]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cmd := exec.Command(testbed.Docker.Bin, "-H", engine20, "import", "-c", `ENTRYPOINT ["buildkitd"]`, tarPath, image)
	cmd.Env = bed.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import: %v\n%s", err, out)
	}
	return nil
}
