package buildkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/moby/buildkit/identity"
	solvererrdefs "github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/sourcepolicy/policysession"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/opencontainers/go-digest"
	"google.golang.org/grpc/codes"
)

// Error is a failed BuildKit build as buildx reports it: the policy denials
// and source snippets, then "ERROR: …", and buildx's exit status.
type Error struct {
	Err error
	// quiet: the error is already shown (a --call that exits non-zero).
	quiet bool
	code  int
}

func (e *Error) Error() string {
	if e.quiet {
		return ""
	}
	var b bytes.Buffer
	for _, msg := range policysession.DenyMessages(e.Err) {
		if msg.GetMessage() != "" {
			fmt.Fprintf(&b, "Policy: %s\n", msg.GetMessage())
		}
	}
	for _, s := range solvererrdefs.Sources(e.Err) {
		s.Print(&b)
	}
	fmt.Fprintf(&b, "ERROR: %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ExitStatus is buildx's: 100 for an internal error, 102 when resources ran
// out, 130 when cancelled, else 1 (a failed RUN's own code is not kept).
func (e *Error) ExitStatus() int {
	if e.code != 0 {
		return e.code
	}
	switch grpcerrors.Code(e.Err) {
	case codes.Internal:
		return 100
	case codes.ResourceExhausted:
		return 102
	case codes.Canceled:
		return 130
	}
	if errors.Is(e.Err, context.Canceled) {
		return 130
	}
	return 1
}

func randomDigest() digest.Digest { return digest.FromBytes([]byte(identity.NewID())) }
