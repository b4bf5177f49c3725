package buildkit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/frontend/subrequests"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	solverpb "github.com/moby/buildkit/solver/pb"
	"github.com/pkg/errors"
	"google.golang.org/protobuf/proto"

	"github.com/mybuild/mybuild/internal/atomicfile"
	"github.com/mybuild/mybuild/pkg/engine"
)

// imageID is what -q prints and --iidfile holds: the image's config
// digest, else its manifest digest.
func imageID(resp map[string]string) string {
	if v, ok := resp[exptypes.ExporterImageConfigDigestKey]; ok {
		return v
	}
	return resp[exptypes.ExporterImageDigestKey]
}

// metadata is --metadata-file's content: the exporter response with its
// base64 JSON values decoded.
func metadata(resp map[string]string) map[string]any {
	out := make(map[string]any, len(resp))
	for k, v := range resp {
		var dt []byte
		if k == "result.json" { // already JSON
			dt = []byte(v)
		} else {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				out[k] = v
				continue
			}
			dt = b
		}
		var obj map[string]any
		if err := json.Unmarshal(dt, &obj); err != nil || len(obj) == 0 {
			var list []map[string]any
			if err := json.Unmarshal(dt, &list); err != nil || len(list) == 0 {
				out[k] = v
				continue
			}
		}
		out[k] = json.RawMessage(dt)
	}
	return out
}

// writeMetadataFile writes --metadata-file as buildx does: its directory
// must already be there (buildx's atomic writer makes none, and fails the
// build), and it must not be a directory itself.
func writeMetadataFile(name string, dt any) error {
	b, err := json.MarshalIndent(dt, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(name); dir != "." && dir != ".." {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("invalid output path: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("invalid output path: %w", &os.PathError{Op: "stat", Path: dir, Err: syscall.ENOTDIR})
		}
	}
	if fi, err := os.Lstat(name); err == nil && fi.IsDir() {
		return errors.New("cannot write to a directory")
	}
	return atomicfile.Write(name, b, 0o644)
}

// printCallResult prints a --call result as buildx does and returns the
// exit status the frontend asked for.
func printCallResult(w io.Writer, f *callFunc, res map[string]string, dockerfileSrc string) (int, error) {
	switch f.Name {
	case "outline":
		return 0, printValue(w, outline.PrintOutline, outline.SubrequestsOutlineDefinition.Version, f.Format, res)
	case "targets":
		return 0, printValue(w, targets.PrintTargets, targets.SubrequestsTargetsDefinition.Version, f.Format, res)
	case "subrequests.describe":
		return 0, printValue(w, subrequests.PrintDescribe, subrequests.SubrequestsDescribeDefinition.Version, f.Format, res)
	case "lint":
		var results lint.LintResults
		if r, ok := res["result.json"]; ok {
			if err := json.Unmarshal([]byte(r), &results); err != nil {
				return 0, err
			}
		}
		n := len(results.Warnings)
		if f.Format != "json" && n > 0 {
			msg := "1 warning has been found!"
			if n > 1 {
				msg = fmt.Sprintf("%d warnings have been found!", n)
			}
			fmt.Fprintf(w, "Check complete, %s\n", msg)
		}
		// Source lines name the Dockerfile as the user gave it.
		mapSource := func(si *solverpb.SourceInfo) *solverpb.SourceInfo {
			if si == nil || dockerfileSrc == "" {
				return si
			}
			c := proto.Clone(si).(*solverpb.SourceInfo)
			c.Filename = dockerfileSrc
			return c
		}
		err := printValue(w, func(_ []byte, w io.Writer) error { return results.PrintTo(w, mapSource) },
			lint.SubrequestLintDefinition.Version, f.Format, res)
		if err != nil {
			return 0, err
		}
		if results.Error != nil {
			if f.Format != "json" && n > 0 {
				fmt.Fprintln(w)
			}
			var b bytes.Buffer
			results.PrintErrorTo(&b, mapSource)
			return 0, errors.New(b.String())
		} else if n == 0 && f.Format != "json" {
			fmt.Fprintln(w, "Check complete, no warnings found.")
		}
	default:
		if dt, ok := res["result.json"]; ok && f.Format == "json" {
			fmt.Fprintln(w, dt)
		} else if dt, ok := res["result.txt"]; ok {
			fmt.Fprint(w, dt)
		} else {
			fmt.Fprintf(w, "%s %+v\n", f, res)
		}
	}
	if v, ok := res["result.statuscode"]; !f.IgnoreStatus && ok {
		if n, err := strconv.Atoi(v); err == nil && n != 0 {
			return n, nil
		}
	}
	return 0, nil
}

func (f *callFunc) String() string {
	var elems []string
	if f.Name != "" {
		elems = append(elems, fmt.Sprintf("Name:%q", f.Name))
	}
	if f.Format != "" {
		elems = append(elems, fmt.Sprintf("Format:%q", f.Format))
	}
	if f.IgnoreStatus {
		elems = append(elems, fmt.Sprintf("IgnoreStatus:%v", f.IgnoreStatus))
	}
	return strings.Join(elems, " ")
}

func printValue(w io.Writer, print func([]byte, io.Writer) error, version, format string, res map[string]string) error {
	if format == "json" {
		fmt.Fprintln(w, res["result.json"])
		return nil
	}
	if res["version"] != "" && engine.VersionLess(version, res["version"]) && res["result.txt"] != "" {
		// A newer structure than this client knows: print its text form.
		fmt.Fprint(w, res["result.txt"])
		return nil
	}
	return print([]byte(res["result.json"]), w)
}
