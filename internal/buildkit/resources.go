package buildkit

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/mybuild/mybuild/internal/atomicfile"
	"github.com/mybuild/mybuild/internal/opts"
)

// addResourceLimits reads --resource key=value (and the hidden -m,
// --cpu-* flags buildx maps onto it) into the frontend's limits; only the
// values set are sent.
func addResourceLimits(entries []string, attrs map[string]string) error {
	var mem opts.MemBytes
	var swap opts.MemSwapBytes
	for _, entry := range entries {
		k, v, ok := strings.Cut(entry, "=")
		if !ok {
			return errors.Errorf("invalid resource %q, expected key=value", entry)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		wrap := func(err error) error { return errors.Wrapf(err, "invalid value %q for resource %s", v, k) }
		switch k {
		case "memory":
			if err := mem.Set(v); err != nil {
				return wrap(err)
			}
		case "memory-swap":
			if err := swap.Set(v); err != nil {
				return wrap(err)
			}
		case "cpu-shares", "cpu-period", "cpu-quota":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return wrap(err)
			}
			if n > 0 {
				attrs[strings.ReplaceAll(k, "-", "")] = strconv.FormatInt(n, 10)
			} else {
				delete(attrs, strings.ReplaceAll(k, "-", ""))
			}
		case "cpuset-cpus", "cpuset-mems":
			if v != "" {
				attrs[strings.ReplaceAll(k, "-", "")] = v
			}
		default:
			return errors.Errorf("unknown resource %q", k)
		}
	}
	if v := mem.Value(); v > 0 {
		attrs["memory"] = strconv.FormatInt(v, 10)
	}
	if v := swap.Value(); v != 0 {
		attrs["memswap"] = strconv.FormatInt(v, 10)
	}
	return nil
}

// nodeID is buildx's random client identifier ($BUILDX_CONFIG/.buildNodeID,
// made on first use): with the directory's name it keys the daemon's copy
// of the last context transfer, so an unchanged rebuild sends no content.
func (o *options) nodeID() string {
	if o.nodeIDValue != nil {
		return *o.nodeIDValue
	}
	id := readNodeID(o.BuildxDir)
	o.nodeIDValue = &id
	return id
}

func readNodeID(dir string) string {
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, ".buildNodeID")
	if _, err := os.Lstat(p); os.IsNotExist(err) {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return ""
		}
		if err := atomicfile.Write(p, []byte(hex.EncodeToString(b)), 0o600); err != nil {
			return ""
		}
	}
	dt, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(dt)
}
