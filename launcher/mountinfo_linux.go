package launcher

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
)

// archilFSType is the client's filesystem type as mountinfo shows it.
const archilFSType = "fuse.archil"

// isArchil reports whether e is an archil mount made by the launcher's
// user (root, under systemd); a nil e is not. The fstype alone is not
// enough: any user may run `fusermount -o subtype=archil` on a directory
// they can write, and the launcher must never take such a mount for its
// own and unmount it.
func isArchil(e *mountinfo.Entry) bool {
	if e == nil || e.FSType != archilFSType {
		return false
	}
	owner, ok := e.Option("user_id")
	return ok && owner == ownUID
}

// ownUID is this process's user as a FUSE superblock's user_id names it.
var ownUID = strconv.Itoa(os.Geteuid())

// readMountinfo reads a whole mountinfo file from the start. The launcher
// keeps one open file for poll(2), so it rewinds instead of reopening.
func readMountinfo(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("failed to rewind %s: %w", f.Name(), err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", f.Name(), err)
	}
	return b, nil
}
