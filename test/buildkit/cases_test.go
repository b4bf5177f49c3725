//go:build linux

package buildkit

import "github.com/mybuild/mybuild/internal/testbed"

// The base image both daemons have (imported: nothing can be pulled).
const base = "mybuild-test/busybox"

// Dockerfiles the cases share.
const (
	copyDF    = "FROM scratch\nCOPY a.txt /\nLABEL org.example.case=copy\n"
	runDF     = "FROM " + base + "\nRUN echo built >/built && echo out\nRUN echo err >&2\nCOPY a.txt /\nENV PHASE=test\nCMD [\"cat\", \"/a.txt\"]\n"
	stagesDF  = "FROM scratch AS one\nCOPY a.txt /one.txt\n\nFROM " + base + " AS two\nRUN echo two >/two.txt\n\nFROM scratch\nCOPY --from=one /one.txt /\nCOPY --from=two /two.txt /\n"
	secretDF  = "FROM " + base + "\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n"
	sshDF     = "FROM " + base + "\nRUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo agent at \"$SSH_AUTH_SOCK\"\n"
	argDF     = "FROM scratch\nARG WHAT=default\nLABEL what=$WHAT\nCOPY a.txt /$WHAT.txt\n"
	warningDF = "FROM scratch AS one\nfrom scratch as two\nCOPY a.txt /\nCMD echo not json\n"
)

func files(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// cases are run on each engine (tc.on: one only). Both clients run with the
// same arguments; most builds go to -o type=local (compared file by file)
// or leave a tagged image (compared by inspect and export).
func cases() []bkCase {
	copyFiles := files("Dockerfile", copyDF, "a.txt", "a\n")
	runFiles := files("Dockerfile", runDF, "a.txt", "a\n")
	local := []string{"-o", "type=local,dest={out}/d"}
	with := func(a ...[]string) []string {
		var out []string
		for _, x := range a {
			out = append(out, x...)
		}
		return append(out, ".")
	}
	arg := func(a ...string) []string { return a }
	none := arg("--network", "none")
	cs := []bkCase{
		// Context sources.
		{name: "local dir, tagged image", files: copyFiles, args: with(arg("-t", "bkdiff:{who}")), image: "bkdiff:{who}"},
		{name: "RUN, cold cache, image config and files", files: runFiles, cold: true, args: with(none, arg("-t", "bkdiff-run:{who}")), image: "bkdiff-run:{who}"},
		{name: "RUN, warm cache", files: runFiles, args: with(none, arg("-t", "bkdiff-run:{who}")), image: "bkdiff-run:{who}"},
		{name: ".dockerignore excludes", files: files("Dockerfile", "FROM scratch\nCOPY . /ctx/\n", ".dockerignore", "b.txt\nsecret/\n", "a.txt", "a\n", "b.txt", "b\n", "secret/k", "k\n"),
			args: with(local)},
		{name: "<Dockerfile>.dockerignore wins over .dockerignore", files: files("build.Dockerfile", "FROM scratch\nCOPY . /ctx/\n", "build.Dockerfile.dockerignore", "b.txt\n", ".dockerignore", "a.txt\n", "a.txt", "a\n", "b.txt", "b\n"),
			args: with(arg("-f", "build.Dockerfile"), local)},
		{name: "-f - reads the Dockerfile from stdin", files: files("a.txt", "a\n"), stdin: copyDF, args: with(arg("-f", "-"), local)},
		{name: "- reads a Dockerfile from stdin, no context", stdin: "FROM scratch\nLABEL from=stdin\n", args: arg("-t", "bkdiff-stdin:{who}", "-"), image: "bkdiff-stdin:{who}"},
		{name: "- reads a tar context from stdin", stdin: string(mustTar(tarFiles)), args: arg("-o", "type=local,dest={out}/d", "-")},
		{name: "Dockerfile outside the context", dir: ".", files: files("a.txt", "a\n", "../df/Dockerfile", copyDF),
			args: arg("-f", "df/Dockerfile", "-o", "type=local,dest={out}/d", "ctx")},
	}
	remote := []bkCase{
		{name: "git URL context (dumb HTTP)", args: arg("-o", "type=local,dest={out}/d", "http://{http}/repo.git#main"),
			racyEnd: []string{"[internal] load git source http://{http}/repo.git#main"}},
		{name: "git URL with a subdirectory (20.10: not supported)", args: arg("-o", "type=local,dest={out}/d", "http://{http}/repo.git#main:sub"),
			racyEnd: []string{"[internal] load git source http://{http}/repo.git#main:sub"}},
		{name: "http tarball context", args: arg("-o", "type=local,dest={out}/d", "http://{http}/ctx.tar")},
	}
	cs = append(cs, remote...)
	return append(cs, []bkCase{
		{name: "--build-context a directory (20.10: no named contexts)", files: files("Dockerfile", "FROM scratch\nCOPY --from=extra b.txt /\n", "extra/b.txt", "b\n"),
			args: with(arg("--build-context", "extra=extra"), local)},
		{name: "--build-context docker-image://", files: files("Dockerfile", "FROM bb\nCOPY a.txt /\n", "a.txt", "a\n"),
			args: with(arg("--build-context", "bb=docker-image://"+base, "-t", "bkdiff-named:{who}")), image: "bkdiff-named:{who}"},
		{name: "--build-context a git URL", files: files("Dockerfile", "FROM scratch\nCOPY --from=src hello.txt /\n"),
			args: with(arg("--build-context", "src=http://{http}/repo.git#main"), local)},
		{name: "--build-context an http URL", files: files("Dockerfile", "FROM scratch\nCOPY --from=src / /src/\n"),
			args: with(arg("--build-context", "src=http://{http}/ctx.tar"), local)},

		// Secrets and ssh.
		{name: "--secret id,src", cold: true, files: files("Dockerfile", secretDF, "tok", "file-secret\n"), args: with(none, arg("--secret", "id=tok,src=tok"))},
		{name: "--secret id,env", cold: true, files: files("Dockerfile", secretDF), env: []string{"TOKVAR=env-secret"}, args: with(none, arg("--secret", "id=tok,env=TOKVAR"))},
		{name: "--secret type=file", cold: true, files: files("Dockerfile", secretDF, "tok", "typed\n"), args: with(none, arg("--secret", "type=file,id=tok,src=tok"))},
		{name: "--secret type=env, id is the variable", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN --mount=type=secret,id=TOK cat /run/secrets/TOK\n"), env: []string{"TOK=by-id"}, args: with(none, arg("--secret", "type=env,id=TOK"))},
		{name: "bad --secret", files: copyFiles, args: with(arg("--secret", "id=tok,nosuch=1"))},
		{name: "--secret src missing", files: copyFiles, args: with(arg("--secret", "id=tok,src=nosuch"))},
		{name: "missing required secret", files: files("Dockerfile", "FROM "+base+"\nRUN --mount=type=secret,id=tok,required=true cat /run/secrets/tok\n"), args: with(none)},
		{name: "--ssh default=agent socket", cold: true, files: files("Dockerfile", sshDF), args: with(none, arg("--ssh", "default={agent}"))},
		{name: "--ssh default=key file", cold: true, files: files("Dockerfile", sshDF), args: with(none, arg("--ssh", "default={key}"))},
		{name: "missing ssh", files: files("Dockerfile", "FROM "+base+"\nRUN --mount=type=ssh,required=true true\n"), args: with(none)},
		{name: "an ssh mount not required, no --ssh", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN --mount=type=ssh echo \"sock=$SSH_AUTH_SOCK\"\n"), args: with(none)},
		{name: "--ssh with no agent", files: copyFiles, args: with(arg("--ssh", "default"))},

		// Outputs.
		{name: "-o type=tar", files: copyFiles, args: with(arg("-o", "type=tar,dest={out}/x.tar"))},
		{name: "-o type=oci (20.10: no oci exporter)", files: copyFiles, args: with(arg("-o", "type=oci,dest={out}/x.tar"))},
		{name: "-o type=oci,tar=false directory", on: "engine29", files: copyFiles, args: with(arg("-o", "type=oci,dest={out}/layout,tar=false"))},
		{name: "-o type=docker", files: copyFiles, args: with(arg("-o", "type=docker,dest={out}/x.tar", "-t", "bkdiff-docker:{who}"))},
		{name: "-o type=image", files: copyFiles, args: with(arg("-o", "type=image,name=bkdiff-img:{who}")), image: "bkdiff-img:{who}"},
		{name: "-o - writes a tar to stdout", files: copyFiles, args: with(arg("-o", "-"))},
		{name: "-o type=tar,dest=- to stdout", files: copyFiles, args: with(arg("-o", "type=tar,dest=-"))},
		{name: "two -o outputs", files: copyFiles, args: with(local, arg("-o", "type=tar,dest={out}/x.tar"))},
		{name: "bad -o type", files: copyFiles, args: with(arg("-o", "type=nosuch"))},
		{name: "-o type=local without dest", files: copyFiles, args: with(arg("-o", "type=local"))},
		{name: "-o a bare path is a local output", files: copyFiles, args: with(arg("-o", "{out}/bare"))},
		{name: "-o type=image pushed", files: copyFiles, args: with(arg("-o", "type=image,name={reg}/imgpush:{who},push=true")), push: "{reg}/imgpush:{who}"},
		{name: "--load", files: copyFiles, args: with(arg("--load", "-t", "bkdiff-load:{who}")), image: "bkdiff-load:{who}"},
		{name: "--push to a loopback registry", files: runFiles, args: with(none, arg("--push", "-t", "{reg}/push:{who}")), push: "{reg}/push:{who}"},
		{name: "--load and --push", files: copyFiles, args: with(arg("--load", "--push", "-t", "{reg}/loadpush:{who}")), push: "{reg}/loadpush:{who}", image: "{reg}/loadpush:{who}"},
		{name: "--iidfile and -q", files: copyFiles, args: with(arg("-q", "--iidfile", "{out}/iid", "-t", "bkdiff-iid:{who}")), image: "bkdiff-iid:{who}"},
		{name: "--metadata-file", files: copyFiles, args: with(arg("--metadata-file", "{out}/meta.json", "-t", "bkdiff-meta:{who}")), image: "bkdiff-meta:{who}"},
		{name: "--metadata-file of a local output", files: copyFiles, args: with(arg("--metadata-file", "{out}/meta.json"), local)},

		// Caches.
		{name: "--cache-to type=local (docker driver: containerd store only)", files: runFiles, args: with(none, arg("--cache-to", "type=local,dest={out}/cache"))},
		{name: "--cache-from type=local", on: "engine29", files: runFiles, cold: true,
			pre:  [][]string{with(none, arg("--cache-to", "type=local,dest={out}/cache,mode=max"))},
			args: with(none, arg("--no-cache-filter", "nosuch", "--cache-from", "type=local,src={out}/cache"), local)},
		{name: "--cache-to type=inline", files: runFiles, args: with(none, arg("--cache-to", "type=inline", "-t", "bkdiff-inline:{who}")), image: "bkdiff-inline:{who}"},
		{name: "BUILDKIT_INLINE_CACHE build arg", files: runFiles, args: with(none, arg("--build-arg", "BUILDKIT_INLINE_CACHE=1", "-t", "bkdiff-inline2:{who}")), image: "bkdiff-inline2:{who}"},
		{name: "--cache-from a registry ref that is not there", files: runFiles, args: with(none, arg("--cache-from", "{reg}/nocache:1", local[0], local[1]))},
		{name: "--cache-to type=registry", files: runFiles, args: with(none, arg("--cache-to", "type=registry,ref={reg}/cache:{who}"))},
		{name: "bad --cache-to", files: copyFiles, args: with(arg("--cache-to", "type=nosuch"))},

		// Platforms.
		{name: "--platform linux/amd64", files: copyFiles, args: with(arg("--platform", "linux/amd64"), local)},
		{name: "--platform linux/arm64 from scratch", files: copyFiles, args: with(arg("--platform", "linux/arm64"), local)},
		{name: "--platform list to an oci tar (20.10: refused)", files: copyFiles, args: with(arg("--platform", "linux/amd64,linux/arm64", "-o", "type=oci,dest={out}/x.tar"))},
		{name: "--platform list to local dirs", files: copyFiles, args: with(arg("--platform", "linux/amd64,linux/arm64"), local)},
		{name: "--platform list loaded", files: copyFiles, args: with(arg("--platform", "linux/amd64,linux/arm64", "-t", "bkdiff-multi:{who}")), image: "bkdiff-multi:{who}"},
		{name: "bad --platform", files: copyFiles, args: with(arg("--platform", "linux/amd64/v9/x"))},

		// Checks and subrequests. On Engine 20.10 both clients swap in
		// the docker/dockerfile:1.8.1 frontend image for them, from
		// docker.io, which the test bed must not try to reach.
		{name: "--call check, no warnings", on: "engine29", files: copyFiles, args: with(arg("--call", "check"))},
		{name: "--call check with warnings", on: "engine29", files: files("Dockerfile", warningDF, "a.txt", "a\n"), args: with(arg("--call", "check"))},
		{name: "--check", on: "engine29", files: files("Dockerfile", warningDF, "a.txt", "a\n"), args: with(arg("--check"))},
		{name: "--call outline", on: "engine29", files: files("Dockerfile", argDF, "a.txt", "a\n"), args: with(arg("--call", "outline"))},
		{name: "--call targets", on: "engine29", files: files("Dockerfile", stagesDF, "a.txt", "a\n"), args: with(arg("--call", "targets"))},
		{name: "--call check,format=json", on: "engine29", files: files("Dockerfile", warningDF, "a.txt", "a\n"), args: with(arg("--call", "check,format=json"))},
		{name: "bad --call", files: copyFiles, args: with(arg("--call", "nosuch"))},
		{name: "build warnings printed after the build", files: files("Dockerfile", warningDF, "a.txt", "a\n"), args: with(local)},

		// Attestations and annotations.
		{name: "--provenance mode=max to an oci tar", files: copyFiles, args: with(arg("--provenance", "mode=max", "-o", "type=oci,dest={out}/x.tar"))},
		{name: "--provenance=false", files: copyFiles, args: with(arg("--provenance=false", "-t", "bkdiff-noprov:{who}")), image: "bkdiff-noprov:{who}"},
		{name: "--attest type=provenance", files: copyFiles, args: with(arg("--attest", "type=provenance,mode=min", "-o", "type=oci,dest={out}/x.tar"))},
		{name: "--sbom needs a scanner image that cannot be pulled", files: copyFiles, args: with(arg("--sbom=generator={closed}/scanner:1", "-o", "type=oci,dest={out}/x.tar"))},
		{name: "--attest type=sbom with a scanner that cannot be pulled", files: copyFiles, args: with(arg("--attest", "type=sbom,generator={closed}/scanner:1", "-t", "bkdiff-sbom:{who}"))},
		{name: "bad --attest", files: copyFiles, args: with(arg("--attest", "type=nosuch"))},
		{name: "--annotation on an oci manifest", files: copyFiles, args: with(arg("--annotation", "org.example.note=hi", "--annotation", "manifest:org.example.m=1", "-o", "type=oci,dest={out}/x.tar"))},
		{name: "--annotation on an image", files: copyFiles, args: with(arg("--annotation", "org.example.note=hi", "-t", "bkdiff-annot:{who}")), image: "bkdiff-annot:{who}"},

		// Shared flags.
		{name: "--build-arg and --label", files: files("Dockerfile", argDF, "a.txt", "a\n"), args: with(arg("--build-arg", "WHAT=given", "--label", "org.example.l=v", "-t", "bkdiff-arg:{who}")), image: "bkdiff-arg:{who}"},
		{name: "--target", files: files("Dockerfile", stagesDF, "a.txt", "a\n"), args: with(none, arg("--target", "one"), local)},
		{name: "--target unknown", files: files("Dockerfile", stagesDF, "a.txt", "a\n"), args: with(arg("--target", "nosuch"))},
		{name: "--no-cache-filter a stage", files: files("Dockerfile", stagesDF, "a.txt", "a\n"), args: with(none, arg("--no-cache-filter", "two"), local)},
		{name: "--no-cache and --no-cache-filter together", files: copyFiles, args: with(arg("--no-cache", "--no-cache-filter", "one"))},
		{name: "--no-cache reruns RUN", files: runFiles, args: with(none, arg("--no-cache", "-t", "bkdiff-nc:{who}")), image: "bkdiff-nc:{who}"},
		{name: "--network host", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN echo host network\n"), args: with(arg("--network", "host"))},
		{name: "--network bridge (no bridge on these daemons)", files: runFiles, cold: true, args: with(arg("--network", "bridge"))},
		{name: "bad --network", files: copyFiles, args: with(arg("--network", "nosuch"))},
		{name: "--add-host", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN grep myhost /etc/hosts\n"), args: with(none, arg("--add-host", "myhost:10.1.2.3"))},
		{name: "bad --add-host", files: copyFiles, args: with(arg("--add-host", "nocolon"))},
		{name: "--shm-size", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN df -k /dev/shm | tail -1 | awk '{print $2}'\n"), args: with(none, arg("--shm-size", "128m"))},
		{name: "--ulimit", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN ulimit -n\n"), args: with(none, arg("--ulimit", "nofile=1024:2048"))},
		{name: "bad --ulimit", files: copyFiles, args: with(arg("--ulimit", "nofile"))},
		{name: "--pull of a base only in the store", files: files("Dockerfile", "FROM {closed}/busybox:1\nRUN true\n"), args: with(none, arg("--pull"))},
		{name: "without --pull the store's base is used", files: files("Dockerfile", "FROM {closed}/busybox:1\nRUN echo from the store\n"), cold: true, args: with(none)},
		// Warm: which client downloads the layers first is not the point.
		{name: "--pull from the loopback registry", files: files("Dockerfile", "FROM {reg}/busybox:1\nRUN echo pulled\n"), args: with(none, arg("--pull", "-t", "bkdiff-pull:{who}")), image: "bkdiff-pull:{who}"},
		{name: "--allow network.host", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN --network=host echo host\n"), args: with(arg("--allow", "network.host"))},
		{name: "--allow security.insecure (the docker driver's daemon refuses)", files: files("Dockerfile", "FROM "+base+"\nRUN --security=insecure true\n"), args: with(none, arg("--allow", "security.insecure"))},
		{name: "RUN --security=insecure without --allow", files: files("Dockerfile", "FROM "+base+"\nRUN --security=insecure true\n"), args: with(none)},
		{name: "bad --allow", files: copyFiles, args: with(arg("--allow", "nosuch"))},
		{name: "bad -t", files: copyFiles, args: with(arg("-t", "Bad:Tag"))},
		{name: "bad --annotation", files: copyFiles, args: with(arg("--annotation", "novalue"))},
		{name: "bad --build-context", files: copyFiles, args: with(arg("--build-context", "novalue"))},
		{name: "classic-only flags as buildx takes them", files: copyFiles, args: with(arg("--squash", "--compress", "--isolation", "default", "-m", "512m", "--cpu-shares", "512", "--rm=false", "--force-rm", local[0], local[1]))},
		{name: "--security-opt", files: copyFiles, args: with(arg("--security-opt", "seccomp=unconfined"))},

		// Progress modes.
		{name: "--progress plain", files: runFiles, cold: true, args: with(none, arg("--progress", "plain"))},
		{name: "--progress rawjson", files: runFiles, cold: true, args: with(none, arg("--progress", "rawjson"))},
		{name: "--progress quiet", files: copyFiles, args: with(arg("--progress", "quiet", "-t", "bkdiff-quiet:{who}")), image: "bkdiff-quiet:{who}"},
		{name: "--progress tty without a terminal", files: copyFiles, args: with(arg("--progress", "tty"))},
		{name: "bad --progress", files: copyFiles, args: with(arg("--progress", "fancy"))},
		{name: "-q prints the image ID", files: copyFiles, args: with(arg("-q", "-t", "bkdiff-q:{who}")), image: "bkdiff-q:{who}"},
		{name: "-q with a local output", files: copyFiles, args: with(arg("-q"), local)},

		// Environment and reproducible builds.
		{name: "SOURCE_DATE_EPOCH: both clients make the same image digest", on: "engine29", files: copyFiles, env: []string{"SOURCE_DATE_EPOCH=1767225600"},
			args: with(arg("--provenance=false", "-o", "type=oci,dest={out}/layout,tar=false", "--metadata-file", "{out}/meta.json", "--iidfile", "{out}/iid")),
			same: []string{"layout/index.json", "iid"}},
		{name: "BUILDKIT_PROGRESS=rawjson", files: copyFiles, env: []string{"BUILDKIT_PROGRESS=rawjson"}, args: with(local)},
		{name: "BUILDX_NO_DEFAULT_ATTESTATIONS", files: copyFiles, env: []string{"BUILDX_NO_DEFAULT_ATTESTATIONS=1"}, args: with(arg("-t", "bkdiff-noatt:{who}")), image: "bkdiff-noatt:{who}"},
		{name: "--build-arg NAME from the environment", files: files("Dockerfile", argDF, "a.txt", "a\n"), env: []string{"WHAT=fromenv"}, args: with(arg("--build-arg", "WHAT"), local)},
		{name: "--builder default", files: copyFiles, args: with(arg("--builder", "default"), local)},
		{name: "--builder nosuch", files: copyFiles, args: with(arg("--builder", "nosuch"))},
		{name: "a lowercase dockerfile", files: files("dockerfile", copyDF, "a.txt", "a\n"), args: with(local)},
		{name: ".dockerignore with exceptions and the Dockerfile ignored", files: files("Dockerfile", "FROM scratch\nCOPY . /ctx/\n", ".dockerignore", "*\n!keep/\nkeep/drop.txt\nDockerfile\n", "a.txt", "a\n", "keep/k.txt", "k\n", "keep/drop.txt", "d\n"), args: with(local)},
		{name: "# syntax= a frontend nothing can pull", files: files("Dockerfile", "# syntax={closed}/dockerfile:1\nFROM scratch\n"), args: with()},
		{name: "RUN for another architecture", on: "engine29", racy: []string{"[internal] load build definition from Dockerfile"}, files: files("Dockerfile", "FROM --platform=linux/arm64 "+base+"\nRUN true\n"), args: with(none)},
		{name: "--ssh with a named id", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN --mount=type=ssh,id=work test -S \"$SSH_AUTH_SOCK\" && echo work agent\n"), args: with(none, arg("--ssh", "work={agent}"))},
		{name: "--push without a tag", files: copyFiles, args: with(arg("--push"))},
		{name: "--load with -o type=local", files: copyFiles, args: with(arg("--load"), local)},
		{name: "-o type=cacheonly", files: copyFiles, args: with(arg("-o", "type=cacheonly"))},
		{name: "-q with a failing RUN", files: files("Dockerfile", "FROM "+base+"\nRUN echo before && exit 4\n"), args: with(none, arg("-q"))},
		{name: "--progress rawjson with a failing RUN", files: files("Dockerfile", "FROM "+base+"\nRUN echo before && exit 5\n"), args: with(none, arg("--progress", "rawjson"))},
		{name: "--iidfile of a local output", files: copyFiles, args: with(arg("--iidfile", "{out}/iid"), local)},

		// More inputs and outputs.
		{name: "a context through a symlink", files: files("real/Dockerfile", copyDF, "real/a.txt", "a\n"), links: map[string]string{"link": "real"}, args: arg("-o", "type=local,dest={out}/d", "link")},
		{name: "-f an absolute path outside the context", files: files("a.txt", "a\n", "../df/Dockerfile", copyDF), args: with(arg("-f", "{root}/df/Dockerfile"), local)},
		{name: "ADD of an http URL and a git URL", files: files("Dockerfile", "FROM scratch\nADD http://{http}/ctx.tar /from-http.tar\nADD http://{http}/repo.git#main /from-git/\n"), args: with(local)},
		{name: "COPY --chmod, --link, --exclude and a heredoc", files: files("Dockerfile", "# check=skip=all\nFROM "+base+"\nCOPY --chmod=600 --link a.txt /a600\nCOPY --exclude=*.log . /ctx/\nRUN <<EOT\necho heredoc >/h\nEOT\n", "a.txt", "a\n", "x.log", "log\n"), args: with(none, local)},
		{name: "RUN --mount=type=bind and tmpfs", cold: true, files: files("Dockerfile", "FROM "+base+"\nRUN --mount=type=bind,target=/src cat /src/a.txt\nRUN --mount=type=tmpfs,target=/t touch /t/x && ls /t\n", "a.txt", "bound\n"), args: with(none)},
		{name: "two -t tags", files: copyFiles, args: with(arg("-t", "bkdiff-t1:{who}", "-t", "bkdiff-t2:{who}")), image: "bkdiff-t2:{who}"},
		{name: "-q with --progress plain", files: copyFiles, args: with(arg("-q", "--progress", "plain", "-t", "bkdiff-qp:{who}")), image: "bkdiff-qp:{who}"},
		{name: "BUILDX_METADATA_PROVENANCE=max and BUILDX_METADATA_WARNINGS", files: files("Dockerfile", warningDF, "a.txt", "a\n"), env: []string{"BUILDX_METADATA_PROVENANCE=max", "BUILDX_METADATA_WARNINGS=1"}, args: with(arg("--metadata-file", "{out}/meta.json"), local)},
		{name: "a daemon that does not answer, DOCKER_BUILDKIT=1", files: copyFiles, env: []string{"DOCKER_HOST=unix://{root}/nosuch.sock", "DOCKER_BUILDKIT=1"}, args: with(local)},
		{name: "a daemon that refuses, DOCKER_BUILDKIT=1", files: copyFiles, env: []string{"DOCKER_HOST=tcp://{closed}", "DOCKER_BUILDKIT=1"}, args: with(local)},
		{name: "a daemon that does not answer, DOCKER_BUILDKIT unset: mybuild takes the classic builder", on: "engine29", files: copyFiles,
			env: []string{"DOCKER_HOST=unix://{root}/nosuch.sock"}, args: with(), differs: classicWhenUnanswered},
		{name: "--iidfile where it cannot be written", files: copyFiles, args: with(arg("--iidfile", "{root}/nosuch/iid", "-t", "bkdiff-iidbad:{who}"))},
		{name: "--metadata-file where it cannot be written", files: copyFiles, args: with(arg("--metadata-file", "{root}/nosuch/meta.json"), local)},
		{name: "--annotation index: on a platform list", on: "engine29", files: copyFiles, args: with(arg("--platform", "linux/amd64,linux/arm64", "--annotation", "index:org.example.i=1", "-o", "type=oci,dest={out}/x.tar"))},

		// Failures.
		{name: "failing RUN", files: files("Dockerfile", "FROM "+base+"\nRUN echo before && exit 3\n"), args: with(none)},
		{name: "Dockerfile parse error", files: files("Dockerfile", "FROM scratch\nNOSUCH instruction\n"), args: with()},
		{name: "missing base from a registry that refuses", files: files("Dockerfile", "FROM {closed}/nosuch:1\n"), args: with()},
		{name: "missing Dockerfile", files: files("a.txt", "a\n"), args: with(), racy: []string{"[internal] load .dockerignore"}},
		{name: "missing context directory", args: arg("nosuch")},
		{name: "COPY of a missing file", files: files("Dockerfile", "FROM scratch\nCOPY nosuch /\n"), args: with()},
		{name: "no context argument", args: arg("-t", "x")},
		{name: "unknown flag", args: with(arg("--nosuch"))},
	}...)
}

func mustTar(files map[string]string) []byte {
	b, err := testbed.TarOf(files, tarTime)
	if err != nil {
		panic(err)
	}
	return b
}
