package buildkit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/content/proxy"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	provenancetypes "github.com/moby/buildkit/solver/llbsolver/provenance/types"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"golang.org/x/sync/errgroup"
)

// historyAPI reports whether the node keeps build records (BuildKit 0.11+).
func (n *Node) historyAPI(ctx context.Context, c *client.Client) bool {
	n.historyOnce.Do(func() {
		cl, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{
			ActiveOnly: true,
			Ref:        "buildx-test-history-api-feature",
			EarlyExit:  true,
		})
		if err != nil {
			return
		}
		for {
			if _, err := cl.Recv(); err != nil {
				n.history = errors.Is(err, io.EOF)
				return
			}
		}
	})
	return n.history
}

// recordProvenance adds the build's provenance to the exporter response for
// --metadata-file, from the build record (BUILDX_METADATA_PROVENANCE: min,
// max or disabled; min drops the build config and metadata).
func (o *options) recordProvenance(ctx context.Context, c *client.Client, resp *client.SolveResponse, ref string, p *printer) error {
	mode := "min"
	switch v := o.Getenv("BUILDX_METADATA_PROVENANCE"); v {
	case "min", "max", "disabled":
		mode = v
	default:
		if b, ok := boolEnv(o.LookupEnv("BUILDX_METADATA_PROVENANCE")); ok && !b {
			mode = "disabled"
		}
	}
	if mode == "disabled" || o.callFunc != nil {
		return nil
	}
	return p.vertex("resolving provenance for metadata file", func(func(*client.VertexStatus)) error {
		res, err := fetchProvenance(ctx, c, ref, mode)
		if err != nil {
			return err
		}
		for k, v := range res {
			resp.ExporterResponse[k] = v
		}
		return nil
	})
}

func fetchProvenance(ctx context.Context, c *client.Client, ref, mode string) (map[string]string, error) {
	cl, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{Ref: ref, EarlyExit: true})
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	out := map[string]string{}
	eg, ctx := errgroup.WithContext(ctx)
	store := proxy.NewContentStore(c.ContentClient())
	load := func(key string, res *controlapi.BuildResultInfo) {
		desc, predicateType := lookupProvenance(res)
		if desc == nil {
			return
		}
		eg.Go(func() error {
			dt, err := content.ReadBlob(ctx, store, *desc)
			if err != nil {
				return errors.Wrapf(err, "failed to load provenance blob from build record")
			}
			prv, err := encodeProvenance(dt, predicateType, mode)
			if err != nil {
				return err
			}
			mu.Lock()
			out[key] = prv
			mu.Unlock()
			return nil
		})
	}
	for {
		ev, err := cl.Recv()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		if ev.Record == nil {
			continue
		}
		if len(ev.Record.Results) > 0 {
			for platform, res := range ev.Record.Results {
				load("buildx.build.provenance/"+platform, res)
			}
		} else if ev.Record.Result != nil {
			load("buildx.build.provenance", ev.Record.Result)
		}
	}
	return out, eg.Wait()
}

func lookupProvenance(res *controlapi.BuildResultInfo) (*ocispecs.Descriptor, string) {
	for _, a := range res.Attestations {
		if a.MediaType == "application/vnd.in-toto+json" && strings.HasPrefix(a.Annotations["in-toto.io/predicate-type"], "https://slsa.dev/provenance/") {
			return &ocispecs.Descriptor{
				Digest:      digest.Digest(a.Digest),
				Size:        a.Size,
				MediaType:   a.MediaType,
				Annotations: a.Annotations,
			}, a.Annotations["in-toto.io/predicate-type"]
		}
	}
	return nil, ""
}

func encodeProvenance(dt []byte, predicateType, mode string) (string, error) {
	var pred *provenancetypes.ProvenancePredicateSLSA02
	if predicateType == slsa1.PredicateSLSAProvenance {
		var pred1 *provenancetypes.ProvenancePredicateSLSA1
		if err := json.Unmarshal(dt, &pred1); err != nil {
			return "", errors.Wrapf(err, "failed to unmarshal provenance")
		}
		pred = pred1.ConvertToSLSA02()
	} else if err := json.Unmarshal(dt, &pred); err != nil {
		return "", errors.Wrapf(err, "failed to unmarshal provenance")
	}
	if mode == "min" {
		pred.BuildConfig = nil
		pred.Metadata = nil
	}
	b, err := json.Marshal(pred)
	if err != nil {
		return "", errors.Wrapf(err, "failed to marshal provenance")
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
