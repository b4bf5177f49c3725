//go:build !unix

package buildkit

func diskFull(string) bool { return false }
