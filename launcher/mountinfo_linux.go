package launcher

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// archilFSType is the client's filesystem type as mountinfo shows it.
const archilFSType = "fuse.archil"

const mountinfoPath = "/proc/self/mountinfo"

// mountEntry is the part of one mountinfo line the launcher looks at.
type mountEntry struct {
	ID         int
	Dev        string // major:minor; for FUSE the minor names the connection
	MountPoint string
	FSType     string
	Source     string
	SuperOpts  string // per-superblock options, e.g. "rw,user_id=0,..."
}

// isArchil reports whether e is an archil mount made by root; a nil e is
// not. The fstype alone is not enough: any user may run
// `fusermount -o subtype=archil` on a directory they can write, and the
// launcher must never take such a mount for its own and unmount it.
func (e *mountEntry) isArchil() bool {
	return e != nil && e.FSType == archilFSType && slices.Contains(strings.Split(e.SuperOpts, ","), "user_id=0")
}

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

// topMount returns the mount at exactly path that is on top (the last
// entry for that path), or nil when nothing is mounted there.
func topMount(data []byte, path string) (*mountEntry, error) {
	var top *mountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		e, err := parseMountinfoLine(sc.Text())
		if err != nil {
			return nil, err
		}
		if e.MountPoint == path {
			top = &e
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("failed to parse mountinfo: %w", err)
	}
	return top, nil
}

// currentTopMount reads the process's mount table and returns the top mount
// at path.
func currentTopMount(path string) (*mountEntry, error) {
	data, err := os.ReadFile(mountinfoPath)
	if err != nil {
		return nil, fmt.Errorf("failed to read mountinfo: %w", err)
	}
	return topMount(data, path)
}

// parseMountinfoLine parses one line of proc(5) mountinfo:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// The optional fields end at a lone "-"; the fstype is the field after it.
func parseMountinfoLine(line string) (mountEntry, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 7 || sep < 0 || sep+2 >= len(f) {
		return mountEntry{}, fmt.Errorf("failed to parse mountinfo line %q: too few fields", line)
	}
	id, err := strconv.Atoi(f[0])
	if err != nil {
		return mountEntry{}, fmt.Errorf("failed to parse mountinfo line %q: bad mount id", line)
	}
	return mountEntry{
		ID:         id,
		Dev:        f[2],
		MountPoint: unescapeMountinfo(f[4]),
		FSType:     unescapeMountinfo(f[sep+1]),
		Source:     unescapeMountinfo(f[sep+2]),
		SuperOpts:  superOpts(f, sep),
	}, nil
}

// superOpts is the field after the source, absent on some old kernels.
func superOpts(f []string, sep int) string {
	if sep+3 < len(f) {
		return f[sep+3]
	}
	return ""
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 space, \011
// tab, \012 newline, \134 backslash) in a mountinfo field.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
