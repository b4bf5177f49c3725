//go:build !linux

package memtrim

// Binary does nothing off Linux.
func Binary() int64 { return 0 }
