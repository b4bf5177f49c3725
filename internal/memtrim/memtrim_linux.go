//go:build linux

package memtrim

import (
	"bufio"
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Binary drops this process's resident pages of its own executable's
// read-only mappings (code, read-only data) and returns how many bytes it
// asked the kernel to drop. The pages stay in the page cache: what the
// process touches again comes back with a minor fault. Writable mappings
// are never touched (their pages may hold the process's own changes).
func Binary() int64 {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	var dropped int64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || string(f[5]) != exe || (string(f[1]) != "r-xp" && string(f[1]) != "r--p") {
			continue
		}
		start, end, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			continue
		}
		lo, err1 := strconv.ParseUint(string(start), 16, 64)
		hi, err2 := strconv.ParseUint(string(end), 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		// The raw call takes the range as numbers: it is a mapping, not
		// Go memory.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), unix.MADV_DONTNEED); errno == 0 {
			dropped += int64(hi - lo)
		}
	}
	return dropped
}
