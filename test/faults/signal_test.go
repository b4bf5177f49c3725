//go:build linux

package faults

import (
	"syscall"
	"testing"
	"time"
)

// TestSignals: rows 6 and 7, signals during a RUN on the docker driver
// (Engine 29, through a proxy): the solve is cancelled and the step's
// process is gone from the daemon. buildx exits 130 on SIGTERM too. With
// the connections stalled first, the first Ctrl-C cannot be answered: the
// second ends the client at once, and the daemon ends the RUN once the
// proxy lets go.
func TestSignals(t *testing.T) {
	need(t, engine29)
	for _, tc := range []struct {
		row    string
		sigs   []syscall.Signal
		stall  bool
		within float64
	}{
		{row: "6. SIGTERM during a RUN", sigs: []syscall.Signal{syscall.SIGTERM}, within: 5},
		{row: "7. two Ctrl-C during a RUN", sigs: []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, within: 5},
		{row: "7b. two Ctrl-C, the connections stalled", sigs: []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, stall: true, within: 3},
	} {
		t.Run(tc.row, func(t *testing.T) {
			eachClient(t, tc.row, want{code: 130, within: tc.within, clean: true}, func(t *testing.T, c client) (outcome, []string) {
				p, px, sleep := runThroughProxy(t, c)
				if tc.stall {
					px.stall()
				}
				for i, sig := range tc.sigs {
					if i > 0 {
						time.Sleep(500 * time.Millisecond)
					}
					p.signal(sig)
				}
				p.strike()
				o := p.wait(hangLimit)
				px.cut()
				o.left = goneWithin(sleep, 10*time.Second)
				return o, nil
			})
		})
	}
}
