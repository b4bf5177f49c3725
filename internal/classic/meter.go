package classic

import (
	"context"

	"github.com/mybuild/mybuild/pkg/buildcontext"
	"github.com/mybuild/mybuild/pkg/jsonstream"
)

// sizeForMeter gives the live meter the upload's total: a walk of the
// context beside the upload, with lstat alone (cheap next to reading the
// files, which the upload does once). It returns the function that stops
// the walk and waits for it.
func sizeForMeter(ctx context.Context, t *buildcontext.Tar, m *jsonstream.UploadMeter) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if n, err := t.Size(ctx); err == nil {
			m.SetTotal(n)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
