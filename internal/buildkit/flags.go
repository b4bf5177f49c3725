package buildkit

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/util/entitlements"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/tonistiigi/go-csvvalue"
)

// The parsers below read the BuildKit flags' values as buildx v0.38.2
// reads them (its util/buildflags), with the same error texts.

// exportEntry is one -o value.
type exportEntry struct {
	Type        string
	Attrs       map[string]string
	Destination string
}

func parseExports(in []string) ([]exportEntry, error) {
	var out []exportEntry
	for _, s := range in {
		if s == "" {
			continue
		}
		fields, err := csvvalue.Fields(s, nil)
		if err != nil {
			return nil, err
		}
		e := exportEntry{Attrs: map[string]string{}}
		if len(fields) == 1 && fields[0] == s && !strings.HasPrefix(s, "type=") {
			// A bare path is a local directory; "-" is a tar on stdout.
			e.Type, e.Destination = client.ExporterLocal, s
			if s == "-" {
				e.Type = client.ExporterTar
			}
			out = append(out, e)
			continue
		}
		for _, field := range fields {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				return nil, errors.Errorf("invalid value %s", field)
			}
			switch key := strings.TrimSpace(strings.ToLower(k)); key {
			case "type":
				e.Type = v
			case "dest":
				e.Destination = v
			default:
				e.Attrs[key] = v
			}
		}
		if e.Type == "" {
			return nil, errors.Errorf("type is required for output")
		}
		out = append(out, e)
	}
	return out, nil
}

// cacheEntry is one --cache-from or --cache-to value.
type cacheEntry = client.CacheOptionsEntry

func parseCacheEntries(in []string) ([]cacheEntry, error) {
	var out []cacheEntry
	for _, s := range in {
		if s == "" {
			continue
		}
		if !strings.Contains(s, "=") {
			// A comma-separated list of image references.
			fields, err := csvvalue.Fields(s, nil)
			if err != nil {
				return nil, err
			}
			for _, f := range fields {
				e, err := parseCacheEntry(f)
				if err != nil {
					return nil, err
				}
				out = append(out, e)
			}
			continue
		}
		e, err := parseCacheEntry(s)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func parseCacheEntry(s string) (cacheEntry, error) {
	fields, err := csvvalue.Fields(s, nil)
	if err != nil {
		return cacheEntry{}, err
	}
	if len(fields) == 1 && !strings.Contains(fields[0], "=") {
		return cacheEntry{Type: "registry", Attrs: map[string]string{"ref": fields[0]}}, nil
	}
	e := cacheEntry{Attrs: map[string]string{}}
	for _, field := range fields {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return cacheEntry{}, errors.Errorf("invalid value %s", field)
		}
		if key := strings.ToLower(k); key == "type" {
			e.Type = v
		} else {
			e.Attrs[key] = v
		}
	}
	if e.Type == "" {
		return cacheEntry{}, errors.Errorf("type required for %q", s)
	}
	return e, nil
}

// activeCaches drops the GitHub cache entries that have no token or URL
// (buildx fills them from the Actions environment first).
func activeCaches(in []cacheEntry, lookupEnv func(string) (string, bool)) []cacheEntry {
	var out []cacheEntry
	for _, e := range in {
		e.Attrs = maps.Clone(e.Attrs)
		if e.Type == "gha" {
			fillGHA(e.Attrs, lookupEnv)
			if e.Attrs["token"] == "" || (e.Attrs["url"] == "" && e.Attrs["url_v2"] == "") {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func fillGHA(attrs map[string]string, lookupEnv func(string) (string, bool)) {
	version, ok := attrs["version"]
	if !ok {
		if v, ok := lookupEnv("ACTIONS_CACHE_SERVICE_V2"); ok {
			if b, err := strconv.ParseBool(v); err == nil && b {
				version = "2"
			}
		}
	}
	if _, ok := attrs["token"]; !ok {
		if v, ok := lookupEnv("ACTIONS_RUNTIME_TOKEN"); ok {
			attrs["token"] = v
		}
	}
	if _, ok := attrs["url_v2"]; !ok && version == "2" {
		if v, ok := lookupEnv("ACTIONS_RESULTS_URL"); ok {
			attrs["url_v2"] = v
		}
	}
	if _, ok := attrs["url"]; !ok {
		if v, ok := lookupEnv("ACTIONS_CACHE_URL"); ok {
			attrs["url"] = v
		} else if v, ok := lookupEnv("ACTIONS_RESULTS_URL"); ok {
			attrs["url"] = v
		}
	}
}

// secretSpec is one --secret value.
type secretSpec struct {
	ID, FilePath, Env string
}

func parseSecrets(in []string) ([]secretSpec, error) {
	var out []secretSpec
	for _, v := range in {
		if v == "" {
			continue
		}
		fields, err := csvvalue.Fields(v, nil)
		if err != nil {
			return nil, errors.Wrap(err, "failed to parse csv secret")
		}
		var s secretSpec
		var typ string
		for _, field := range fields {
			k, val, ok := strings.Cut(field, "=")
			key := strings.ToLower(k)
			if !ok {
				return nil, errors.Errorf("invalid field '%s' must be a key=value pair", field)
			}
			switch key {
			case "type":
				if val != "file" && val != "env" {
					return nil, errors.Errorf("unsupported secret type %q", val)
				}
				typ = val
			case "id":
				s.ID = val
			case "source", "src":
				s.FilePath = val
			case "env":
				s.Env = val
			default:
				return nil, errors.Errorf("unexpected key '%s' in '%s'", key, field)
			}
		}
		if typ == "env" && s.Env == "" {
			s.Env, s.FilePath = s.FilePath, ""
		}
		out = append(out, s)
	}
	return out, nil
}

// sshSpec is one --ssh value: an ID and the agent sockets or keys.
type sshSpec struct {
	ID    string
	Paths []string
}

func parseSSH(in []string) []sshSpec {
	var out []sshSpec
	for _, s := range in {
		if s == "" {
			continue
		}
		id, paths, ok := strings.Cut(s, "=")
		spec := sshSpec{ID: id}
		if ok {
			spec.Paths = strings.Split(paths, ",")
		}
		out = append(out, spec)
	}
	return out
}

// attest is one --attest value (or --sbom/--provenance).
type attest struct {
	Type     string
	Disabled bool
	Attrs    map[string]string
}

// canonicalAttest turns --sbom/--provenance VALUE into --attest's form.
func canonicalAttest(typ, in string) string {
	if in == "" {
		return ""
	}
	if b, err := strconv.ParseBool(in); err == nil {
		return fmt.Sprintf("type=%s,disabled=%t", typ, !b)
	}
	return fmt.Sprintf("type=%s,%s", typ, in)
}

func parseAttests(in []string) ([]attest, error) {
	var out []attest
	for _, s := range in {
		fields, err := csvvalue.Fields(s, nil)
		if err != nil {
			return nil, err
		}
		a := attest{Attrs: map[string]string{}}
		for _, field := range fields {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				return nil, errors.Errorf("invalid value %s", field)
			}
			switch strings.TrimSpace(strings.ToLower(k)) {
			case "type":
				a.Type = v
			case "disabled":
				d, err := strconv.ParseBool(v)
				if err != nil {
					return nil, errors.Wrapf(err, "invalid value %s", field)
				}
				a.Disabled = d
			default:
				a.Attrs[k] = v
			}
		}
		if a.Type == "" {
			return nil, errors.Errorf("attestation type not specified")
		}
		out = append(out, a)
	}
	return out, nil
}

// attestMap is the frontend's view of the attestations: the first entry of
// each type wins; a disabled type maps to nil.
func attestMap(in []attest) map[string]*string {
	out := map[string]*string{}
	for _, a := range in {
		if _, ok := out[a.Type]; ok {
			continue
		}
		if a.Disabled {
			out[a.Type] = nil
			continue
		}
		parts := []string{csvPair("type", a.Type)}
		for _, k := range slices.Sorted(maps.Keys(a.Attrs)) {
			parts = append(parts, csvPair(k, a.Attrs[k]))
		}
		s := strings.Join(parts, ",")
		out[a.Type] = &s
	}
	return out
}

// csvPair quotes key=value as one CSV field when it needs it.
func csvPair(k, v string) string {
	pair := k + "=" + v
	if strings.ContainsAny(pair, ",\"") {
		return `"` + strings.ReplaceAll(pair, `"`, `""`) + `"`
	}
	return pair
}

// callFunc is --call (--check is --call=check).
type callFunc struct {
	Name         string
	Format       string
	IgnoreStatus bool
}

func parseCallFunc(s string) (*callFunc, error) {
	if s == "" {
		return nil, nil
	}
	fields, err := csvvalue.Fields(s, nil)
	if err != nil {
		return nil, err
	}
	f := &callFunc{}
	for _, field := range fields {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			if f.Name != "" {
				return nil, errors.Errorf("invalid print value: %s", s)
			}
			f.Name = field
			continue
		}
		switch k {
		case "format":
			f.Format = v
		case "ignorestatus":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, errors.Wrapf(err, "invalid ignorestatus print value: %s", v)
			}
			f.IgnoreStatus = b
		default:
			return nil, errors.Errorf("invalid print field: %s", field)
		}
	}
	if f.Name == "check" {
		f.Name = "lint"
	}
	if f.Name == "build" {
		return nil, nil
	}
	return f, nil
}

const entitlementLocalDelete = "buildx.local.delete"

// parseEntitlements checks --allow values; buildx.local.delete is the
// client's own and is not sent.
func parseEntitlements(in []string) (out []string, localDelete bool, _ error) {
	out = []string{}
	for _, v := range in {
		if v == "" {
			continue
		}
		k, _, hasValue := strings.Cut(v, "=")
		if k == entitlementLocalDelete {
			if hasValue {
				return nil, false, errors.Errorf("%s does not accept a value", entitlementLocalDelete)
			}
			localDelete = true
			continue
		}
		if _, _, err := entitlements.Parse(v); err != nil {
			return nil, false, err
		}
		out = append(out, v)
	}
	return out, localDelete, nil
}

var annotationType = regexp.MustCompile(`^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$`)

func parseAnnotations(in []string) (map[exptypes.AnnotationKey]string, error) {
	out := map[exptypes.AnnotationKey]string{}
	for _, s := range in {
		if s == "" {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, errors.Errorf("invalid annotation %q, expected key=value", s)
		}
		types, key, ok := strings.Cut(k, ":")
		if !ok {
			out[exptypes.AnnotationKey{Key: types}] = v
			continue
		}
		for tp := range strings.SplitSeq(types, ",") {
			g := annotationType.FindStringSubmatch(tp)
			if g == nil {
				return nil, errors.Errorf("invalid annotation type %q, expected type and optional platform in square brackets", tp)
			}
			switch g[1] {
			case exptypes.AnnotationIndex, exptypes.AnnotationIndexDescriptor,
				exptypes.AnnotationManifest, exptypes.AnnotationManifestDescriptor:
			default:
				return nil, errors.Errorf("unknown annotation type %q", g[1])
			}
			ak := exptypes.AnnotationKey{Type: g[1], Key: key}
			if g[2] != "" {
				p, err := platforms.Parse(g[2])
				if err != nil {
					return nil, errors.Wrapf(err, "invalid platform %q", g[2])
				}
				ak.Platform = &p
			}
			out[ak] = v
		}
	}
	return out, nil
}

// parseNamedContexts reads --build-context name=value.
func parseNamedContexts(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range in {
		if s == "" {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, errors.Errorf("invalid context value: %s, expected key=value", s)
		}
		named, err := reference.ParseNormalizedNamed(k)
		if err != nil {
			return nil, errors.Wrapf(err, "invalid context name %s", k)
		}
		out[strings.TrimSuffix(reference.FamiliarString(named), ":latest")] = v
	}
	return out, nil
}

// keyValues reads --build-arg (an absent value comes from the environment)
// and --label (an absent value is empty).
func keyValues(in []string, lookupEnv func(string) (string, bool)) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if k == "" {
			return nil, errors.Errorf("invalid key-value pair %q: empty key", s)
		}
		switch {
		case ok:
			out[k] = v
		case lookupEnv != nil:
			if ev, found := lookupEnv(k); found {
				out[k] = ev
			}
		default:
			out[k] = ""
		}
	}
	return out, nil
}

// parsePlatforms reads --platform values (each may be a comma list) as
// buildx's platformutil.Parse: "local" is the client's own platform.
func parsePlatforms(in []string) ([]ocispecs.Platform, error) {
	var out []ocispecs.Platform
	for _, s := range in {
		for p := range strings.SplitSeq(s, ",") {
			if strings.EqualFold(p, "local") {
				out = append(out, platforms.Normalize(platforms.DefaultSpec()))
				continue
			}
			pp, err := platforms.Parse(p)
			if err != nil {
				return nil, err
			}
			out = append(out, platforms.Normalize(pp))
		}
	}
	return out, nil
}
