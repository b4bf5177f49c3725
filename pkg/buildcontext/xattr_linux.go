//go:build linux

package buildcontext

import (
	"archive/tar"
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"
)

const (
	vfsCapRevisionMask = 0xff000000
	vfsCapRevision2    = 0x02000000
	vfsCapRevision3    = 0x03000000
	vfsCapV2Size       = 20
)

// readCapability copies a file's capabilities into a PAX record, as
// docker's tar writer does; v3 (namespaced) capabilities become v2.
func readCapability(path string, hdr *tar.Header) error {
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(path, "security.capability", buf)
	if err != nil {
		if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil
		}
		return err
	}
	if n == 0 {
		return nil
	}
	capb := buf[:n]
	if len(capb) > vfsCapV2Size && len(capb) >= 4 {
		magic := binary.LittleEndian.Uint32(capb)
		if magic&vfsCapRevisionMask == vfsCapRevision3 {
			capb = append([]byte(nil), capb[:vfsCapV2Size]...)
			binary.LittleEndian.PutUint32(capb, magic&^vfsCapRevisionMask|vfsCapRevision2)
		}
	}
	if hdr.PAXRecords == nil {
		hdr.PAXRecords = map[string]string{}
	}
	hdr.PAXRecords["SCHILY.xattr.security.capability"] = string(capb)
	return nil
}
