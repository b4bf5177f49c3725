package buildkit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session/auth/authprovider"

	"github.com/moby/buildkit/client"
	"github.com/pkg/errors"
)

// prepareLoad sets up a docker exporter without a destination (--load):
// the docker driver builds straight into its daemon (the moby exporter);
// another driver streams the image into the daemon (see Daemon).
func (o *options) prepareLoad(ctx context.Context, b *Instance, n *Node, e *client.ExportEntry, attests bool) error {
	containerd := false
	if n.Daemon != nil {
		ok, err := n.Daemon.ContainerdStore(ctx)
		if err != nil {
			return errors.Wrap(err, "failed to detect docker features")
		}
		containerd = ok
	}
	if containerd {
		// The containerd store imports OCI archives, manifest lists included.
		e.Type = "oci"
	} else if len(o.platforms) > 1 || attests {
		return errors.Errorf("docker exporter does not currently support exporting manifest lists")
	}
	if n.Moby {
		e.Type = "image"
		return nil
	}
	if n.Daemon == nil {
		return errors.Errorf("no docker daemon to load the image into")
	}
	w := newLoadWriter(ctx, n.Daemon, o.printer)
	e.Output = func(map[string]string) (io.WriteCloser, error) { return w, nil }
	if containerd {
		// The containerd store resolves images by manifest digest
		// (moby/moby#45458).
		e.Attrs["prefer-image-digest"] = "true"
	}
	return nil
}

// loadWriter streams the docker exporter's archive into the daemon's
// /images/load, started on the first write; Close waits for the daemon.
type loadWriter struct {
	pw   *io.PipeWriter
	pr   *io.PipeReader
	once sync.Once
	done chan struct{}
	err  error
	run  func()
}

func newLoadWriter(ctx context.Context, d Daemon, p *printer) *loadWriter {
	pr, pw := io.Pipe()
	w := &loadWriter{pw: pw, pr: pr, done: make(chan struct{})}
	w.run = func() {
		defer close(w.done)
		err := p.vertex("importing to docker", func(set func(*client.VertexStatus)) error {
			rc, err := d.LoadImage(ctx, pr)
			if err != nil {
				return err
			}
			defer rc.Close()
			return loadProgress(set, rc)
		})
		if err != nil {
			w.err = err
			pr.CloseWithError(err)
		}
	}
	return w
}

func (w *loadWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { go w.run() })
	return w.pw.Write(b)
}

func (w *loadWriter) Close() error {
	err := w.pw.Close()
	started := true
	w.once.Do(func() { started = false })
	if !started {
		return err
	}
	<-w.done
	if err == nil {
		err = w.err
	}
	return err
}

// pushWithDaemon pushes a docker-driver image through the daemon when its
// BuildKit cannot push by itself (a daemon without the containerd store),
// as buildx does: one "pushing NAME with docker" step per tag, then the
// registry's digest becomes the image digest.
func (o *options) pushWithDaemon(ctx context.Context, n *Node, so *client.SolveOpt, resp *client.SolveResponse, p *printer) error {
	if n.features[directPush] || n.Daemon == nil {
		return nil
	}
	for _, e := range so.Exports {
		if e.Type != "moby" {
			continue
		}
		if ok, _ := strconv.ParseBool(e.Attrs["push"]); !ok {
			continue
		}
		names := e.Attrs["name"]
		if names == "" {
			return errors.Errorf("tag is needed when pushing to registry")
		}
		list := strings.Split(names, ",")
		for _, name := range list {
			auth, err := registryAuth(o.Auth, name)
			if err != nil {
				return err
			}
			err = p.vertex(fmt.Sprintf("pushing %s with docker", name), func(set func(*client.VertexStatus)) error {
				rc, err := n.Daemon.PushImage(ctx, name, auth)
				if err != nil {
					return err
				}
				defer rc.Close()
				return pushProgress(set, rc)
			})
			if err != nil {
				return err
			}
		}
		auth, err := registryAuth(o.Auth, list[0])
		if err != nil {
			return err
		}
		if repo, err := n.Daemon.RepoDigests(ctx, list[0]); err != nil {
			return err
		} else if len(repo) == 0 {
			continue
		}
		remote, err := n.Daemon.DistributionDigest(ctx, list[0], auth)
		if err != nil {
			return err
		}
		if remote != "" {
			if _, ok := resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey]; !ok {
				if v, ok := resp.ExporterResponse[exptypes.ExporterImageDigestKey]; ok {
					resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey] = v
				}
			}
			resp.ExporterResponse[exptypes.ExporterImageDigestKey] = remote
		}
	}
	return nil
}

// registryAuth is X-Registry-Auth for ref's registry: base64url JSON of
// config.json's credentials for it.
func registryAuth(auth authprovider.AuthConfigProvider, ref string) (string, error) {
	if auth == nil {
		return "", nil
	}
	r, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	host := reference.Domain(r)
	if host == "docker.io" {
		host = "https://index.docker.io/v1/"
	}
	ac, err := auth(context.TODO(), host, nil, nil)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(ac)
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// pushProgress shows the daemon's push stream as "pushing layer" statuses.
func pushProgress(set func(*client.VertexStatus), rc io.Reader) error {
	return layerProgress(set, rc, func(m *jsonMessage, ls *layerStatuses) {
		if m.ID == "" {
			return
		}
		id := "pushing layer " + m.ID
		st, ok := ls.started[id]
		if !ok {
			if m.Progress == nil && m.Status != "Pushed" {
				return
			}
			st = ls.start(id)
		}
		st.Timestamp = time.Now()
		if m.Progress != nil {
			st.Current, st.Total = m.Progress.Current, m.Progress.Total
		}
		if m.Error != nil {
			now := time.Now()
			st.Completed = &now
		}
		if m.Status == "Pushed" {
			now := time.Now()
			st.Completed = &now
			st.Current = st.Total
		}
		c := *st
		ls.set(&c)
	})
}

// loadProgress shows the daemon's load stream as "loading layer" statuses
// of the current vertex, as buildx does; an error message in it fails.
func loadProgress(set func(*client.VertexStatus), rc io.Reader) error {
	return layerProgress(set, rc, func(m *jsonMessage, ls *layerStatuses) {
		if m.ID == "" || m.Progress == nil {
			return
		}
		id := "loading layer " + m.ID
		st, ok := ls.started[id]
		if !ok {
			st = ls.start(id)
		}
		if m.Status == "Loading layer" {
			st.Current, st.Total = m.Progress.Current, m.Progress.Total
		}
		now := time.Now()
		if m.Error != nil {
			st.Completed = &now
		} else if time.Since(st.Timestamp) < 2*time.Second {
			return
		}
		st.Timestamp = now
		c := *st
		ls.set(&c)
	})
}

// layerProgress reads the daemon's JSON message stream, each message
// through step, and fails with the stream's error message, if any, once
// the stream ends. Layers left open are completed then.
func layerProgress(set func(*client.VertexStatus), rc io.Reader, step func(*jsonMessage, *layerStatuses)) error {
	ls := &layerStatuses{set: set, started: map[string]*client.VertexStatus{}}
	defer ls.completeAll()
	dec := json.NewDecoder(rc)
	var failed error
	for {
		var m jsonMessage
		if err := dec.Decode(&m); err != nil {
			if failed != nil {
				return failed
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		step(&m, ls)
		if m.Error != nil {
			failed = errors.New(m.Error.Message)
		}
	}
}

// layerStatuses are the statuses of the layers a stream has named.
type layerStatuses struct {
	set     func(*client.VertexStatus)
	started map[string]*client.VertexStatus
}

func (ls *layerStatuses) start(id string) *client.VertexStatus {
	now := time.Now()
	st := &client.VertexStatus{ID: id, Started: &now}
	ls.started[id] = st
	return st
}

func (ls *layerStatuses) completeAll() {
	for _, st := range ls.started {
		if st.Completed == nil {
			now := time.Now()
			st.Completed = &now
			ls.set(st)
		}
	}
}

// jsonMessage is the part of the daemon's progress messages read here.
type jsonMessage struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress *struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}
