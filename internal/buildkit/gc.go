package buildkit

import "runtime/debug"

// buildKitGCPercent is the GC target of a BuildKit build. Its live heap
// is small (fsutil's per-file maps, some MB) and the process short-lived:
// with Go's default of 100 the heap grows to twice that before each
// collection, which is most of the peak RSS beyond the binary's text.
// At 50 an unchanged rebuild of the bench context peaks at 33 MB instead
// of 36 (at 25, 31 MB, for a fifth more CPU at 4x the files).
const buildKitGCPercent = 50

// tuneGC sets buildKitGCPercent unless GOGC chose another target than the
// default (the runtime has read it: mybuild does not look at it).
func tuneGC() { debug.SetGCPercent(gcPercent(debug.SetGCPercent(buildKitGCPercent))) }

// gcPercent is the target to keep, given the one in force before.
func gcPercent(prev int) int {
	if prev != 100 {
		return prev
	}
	return buildKitGCPercent
}
