package buildkit

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/pkg/stdcopy"
	units "github.com/docker/go-units"
	"github.com/moby/buildkit/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"

	"github.com/mybuild/mybuild/pkg/engine"
)

// ContainerAPI is what the docker-container driver needs of the daemon
// that runs its container (*engine.Client has it).
type ContainerAPI interface {
	ContainerState(ctx context.Context, name string) (engine.ContainerState, error)
	ContainerCreate(ctx context.Context, name string, config any) (string, error)
	ContainerStart(ctx context.Context, name string) error
	CopyToContainer(ctx context.Context, name, dir string, archive io.Reader) error
	ExecAttach(ctx context.Context, name string, cmd []string) (string, net.Conn, error)
	ExecExitCode(ctx context.Context, id string) (int, error)
	Info(ctx context.Context) (engine.Info, error)
	ImageExists(ctx context.Context, ref string) (bool, error)
	PullImage(ctx context.Context, ref, tag, registryAuth string) (io.ReadCloser, error)
}

// containerPrefix names a node's container, as buildx's driver.BuilderName.
const containerPrefix = "buildx_buildkit_"

// defaultContainerImage is buildx's bkimage.DefaultImage.
const defaultContainerImage = "moby/buildkit:buildx-stable-1"

// containerDriver is a node's docker-container driver options, parsed as
// buildx's factory parses them.
type containerDriver struct {
	api          ContainerAPI
	name         string // the container: buildx_buildkit_<node>
	image        string
	netMode      string
	env          []string
	cgroupParent string
	restart      string
	memory       int64
	memorySwap   int64
	cpuQuota     int64
	cpuPeriod    int64
	cpuShares    int64
	cpusetCpus   string
	cpusetMems   string
	flags        []string
	files        map[string][]byte
}

// ContainerNode is a node of buildx's docker-container driver: buildkitd in
// the container buildx_buildkit_<nodeName> of the daemon api, reached as
// `docker exec -i <container> buildctl dial-stdio`. The container is
// created (as buildx creates it) or started when it is not running.
func ContainerNode(api ContainerAPI, nodeName string, platforms []ocispecs.Platform, driverOpts map[string]string, flags []string, files map[string][]byte) (*Node, error) {
	d := &containerDriver{api: api, name: containerPrefix + nodeName, restart: "unless-stopped", flags: flags, files: files}
	n := &Node{Name: nodeName, Endpoint: d.name, Platforms: platforms}
	keys := make([]string, 0, len(driverOpts))
	for k := range driverOpts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := d.option(n, k, driverOpts[k]); err != nil {
			return nil, err
		}
	}
	n.Dial = d.client
	return n, nil
}

func (d *containerDriver) option(n *Node, k, v string) error {
	var err error
	parseInt := func(p *int64) {
		*p, err = strconv.ParseInt(v, 10, 0)
	}
	switch {
	case k == "network":
		d.netMode = v
	case k == "image":
		d.image = v
	case k == "memory":
		d.memory, err = units.RAMInBytes(v)
	case k == "memory-swap":
		if v == "-1" {
			d.memorySwap = -1
		} else {
			d.memorySwap, err = units.RAMInBytes(v)
		}
	case k == "cpu-period":
		parseInt(&d.cpuPeriod)
	case k == "cpu-quota":
		parseInt(&d.cpuQuota)
	case k == "cpu-shares":
		parseInt(&d.cpuShares)
	case k == "cpuset-cpus":
		d.cpusetCpus = v
	case k == "cpuset-mems":
		d.cpusetMems = v
	case k == "cgroup-parent":
		d.cgroupParent = v
	case k == "restart-policy":
		d.restart = v
	case k == "default-load":
		n.DefaultLoad, err = strconv.ParseBool(v)
	case strings.HasPrefix(k, "env."):
		name := strings.TrimPrefix(k, "env.")
		if name == "" {
			return errors.Errorf("invalid env option %q, expecting env.FOO=bar", k)
		}
		d.env = append(d.env, name+"="+v)
	case k == "provenance-add-gha", k == "allow-untrusted-image":
		_, err = strconv.ParseBool(v)
	default:
		return errors.Errorf("invalid driver option %s for docker-container driver", k)
	}
	return err
}

// startupWindow: a container started this recently may not listen yet
// (buildx's buildkitdStartupWindow); readyTimeout bounds the wait.
const (
	startupWindow = 20 * time.Second
	readyTimeout  = 20 * time.Second
)

// client connects to the node's buildkitd, booting the container first
// when it is missing or stopped, as buildx's Bootstrap does.
func (d *containerDriver) client(ctx context.Context) (*client.Client, error) {
	st, err := d.api.ContainerState(ctx, d.name)
	switch {
	case isNotFound(err):
		if err := d.create(ctx); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case !st.Running:
		if err := d.api.ContainerStart(ctx, d.name); err != nil {
			return nil, err
		}
		if err := d.wait(ctx); err != nil {
			return nil, err
		}
	}
	if st, err = d.api.ContainerState(ctx, d.name); err != nil {
		return nil, err
	}
	if !st.Running {
		return nil, errors.New("driver not running")
	}
	waitReady := false
	if t, err := time.Parse(time.RFC3339Nano, st.StartedAt); err == nil {
		waitReady = time.Now().Before(t.Add(startupWindow))
	}
	conn, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	var used atomic.Bool
	c, err := client.New(ctx, "", client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		if used.CompareAndSwap(false, true) {
			return conn, nil
		}
		return d.dial(ctx)
	}))
	if err != nil {
		conn.Close()
		return nil, err
	}
	if waitReady {
		wctx, cancel := context.WithTimeoutCause(ctx, readyTimeout, errors.WithStack(context.DeadlineExceeded))
		defer cancel()
		if err := c.Wait(wctx); err != nil {
			c.Close()
			return nil, errors.Wrap(err, "waiting for BuildKit")
		}
	}
	return c, nil
}

// dial is `buildctl dial-stdio` in the container: the gRPC stream on the
// exec's stdin and stdout, its stderr to ours.
func (d *containerDriver) dial(ctx context.Context) (net.Conn, error) {
	_, conn, err := d.api.ExecAttach(ctx, d.name, []string{"buildctl", "dial-stdio"})
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, os.Stderr, conn)
		pw.CloseWithError(err)
	}()
	return &demuxConn{Conn: conn, r: pr}, nil
}

type demuxConn struct {
	net.Conn
	r io.Reader
}

func (c *demuxConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// run runs cmd in the container and fails on a non-zero exit.
func (d *containerDriver) run(ctx context.Context, cmd []string, stdout, stderr io.Writer) error {
	id, conn, err := d.api.ExecAttach(ctx, d.name, cmd)
	if err != nil {
		return err
	}
	_, err = stdcopy.StdCopy(stdout, stderr, conn)
	conn.Close()
	if err != nil {
		return err
	}
	code, err := d.api.ExecExitCode(ctx, id)
	if err != nil {
		return err
	}
	if code != 0 {
		return errors.Errorf("exit code %d", code)
	}
	return nil
}

// wait polls `buildctl debug workers` until buildkitd answers, 15 tries
// with a growing pause as buildx does.
func (d *containerDriver) wait(ctx context.Context) error {
	for try := 1; ; try++ {
		var out, errb bytes.Buffer
		err := d.run(ctx, []string{"buildctl", "debug", "workers"}, &out, &errb)
		if err == nil {
			return nil
		}
		if try > 15 {
			if errb.Len() > 0 {
				return errors.Wrap(err, strings.TrimSpace(errb.String()))
			}
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(time.Duration(try*120) * time.Millisecond):
		}
	}
}

// create makes and starts the node's container with buildx's request:
// the image pulled (a local one used when the pull fails), privileged,
// buildx's restart policy, docker's init, the state volume on
// /var/lib/buildkit, the config files copied to /etc/buildkit.
func (d *containerDriver) create(ctx context.Context) error {
	image := defaultContainerImage
	if d.image != "" {
		image = d.image
	}
	pullErr := d.pull(ctx, image)
	ok, err := d.api.ImageExists(ctx, image)
	if err != nil || !ok {
		if pullErr != nil {
			return pullErr
		}
		if err == nil {
			err = errors.New("no such image")
		}
		return errors.Wrapf(err, "failed to inspect pulled image %s", image)
	}
	cmd := d.flags
	if _, ok := d.files["buildkitd.toml"]; ok {
		cmd = append([]string{"--config", "/etc/buildkit/buildkitd.toml"}, d.flags...)
	}
	hc := map[string]any{
		"Privileged":    true,
		"RestartPolicy": restartPolicy(d.restart),
		"Init":          true,
		"Mounts":        []map[string]any{{"Type": "volume", "Source": d.name + "_state", "Target": "/var/lib/buildkit"}},
	}
	set := func(k string, v any, nonzero bool) {
		if nonzero {
			hc[k] = v
		}
	}
	set("NetworkMode", d.netMode, d.netMode != "")
	set("Memory", d.memory, d.memory != 0)
	set("MemorySwap", d.memorySwap, d.memorySwap != 0)
	set("CpuQuota", d.cpuQuota, d.cpuQuota != 0)
	set("CpuPeriod", d.cpuPeriod, d.cpuPeriod != 0)
	set("CpuShares", d.cpuShares, d.cpuShares != 0)
	set("CpusetCpus", d.cpusetCpus, d.cpusetCpus != "")
	set("CpusetMems", d.cpusetMems, d.cpusetMems != "")
	if info, err := d.api.Info(ctx); err == nil {
		if info.CgroupDriver == "cgroupfs" {
			parent := "/docker/buildx"
			if d.cgroupParent != "" {
				parent = d.cgroupParent
			}
			hc["CgroupParent"] = parent
		}
		for _, o := range info.SecurityOptions {
			if o == "userns" || strings.HasPrefix(o, "name=userns,") || o == "name=userns" {
				hc["UsernsMode"] = "host"
				break
			}
		}
	}
	cfg := map[string]any{"Image": image, "HostConfig": hc}
	if len(d.env) > 0 {
		cfg["Env"] = d.env
	}
	if len(cmd) > 0 {
		cfg["Cmd"] = cmd
	}
	_, err = d.api.ContainerCreate(ctx, d.name, cfg)
	var sc interface{ HTTPStatus() int }
	if err != nil && !(errors.As(err, &sc) && sc.HTTPStatus() == 409) {
		return err
	}
	if err == nil {
		archive, err := configTar(d.files)
		if err != nil {
			return err
		}
		if err := d.api.CopyToContainer(ctx, d.name, "/etc", archive); err != nil {
			return err
		}
		if err := d.api.ContainerStart(ctx, d.name); err != nil {
			return err
		}
	}
	return d.wait(ctx)
}

// pull pulls image through the daemon, reading its progress to the end.
func (d *containerDriver) pull(ctx context.Context, image string) error {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return err
	}
	named = reference.TagNameOnly(named)
	tag := ""
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if dg, ok := named.(reference.Digested); ok {
		tag = dg.Digest().String()
	}
	rc, err := d.api.PullImage(ctx, named.Name(), tag, "")
	if err != nil {
		return err
	}
	defer rc.Close()
	return pullStreamError(rc)
}

// restartPolicy is docker's --restart value as the API's RestartPolicy.
func restartPolicy(v string) map[string]any {
	name, count, _ := strings.Cut(v, ":")
	p := map[string]any{"Name": name}
	if n, err := strconv.Atoi(count); err == nil {
		p["MaximumRetryCount"] = n
	}
	return p
}

// configTar is buildx's archive of the node's config files under
// buildkit/ (copied into /etc), owned by root.
func configTar(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	now := time.Now()
	dirs := map[string]bool{}
	for _, name := range names {
		p := path.Join("buildkit", name)
		for dir := path.Dir(p); dir != "." && !dirs[dir]; dir = path.Dir(dir) {
			dirs[dir] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: now}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o644, Size: int64(len(files[name])), ModTime: now}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// pullStreamError is the first error in a daemon's JSON progress stream.
func pullStreamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if m.Error != "" {
			return fmt.Errorf("%s", m.Error)
		}
	}
}
