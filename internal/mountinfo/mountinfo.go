// Package mountinfo reads proc(5) mountinfo: which mount is on top at a
// path, its id, device, filesystem type and superblock options. The
// launcher, the test double and the tests all read it through here.
package mountinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Path is this process's mount table.
const Path = "/proc/self/mountinfo"

// Entry is the part of one mountinfo line this project looks at.
type Entry struct {
	ID         int
	Dev        string // major:minor; for FUSE the minor names the connection
	MountPoint string
	FSType     string
	Source     string
	SuperOpts  string // per-superblock options, e.g. "rw,user_id=0,..."
}

// Top returns the mount at exactly path that is on top (the last entry
// for that path) in the mountinfo text data, or nil when nothing is
// mounted there.
func Top(data []byte, path string) (*Entry, error) {
	stack, err := Stack(data, path)
	if err != nil || len(stack) == 0 {
		return nil, err
	}
	return &stack[len(stack)-1], nil
}

// Stack returns every mount at exactly path in the mountinfo text data,
// bottom first: a mount made over another is listed after it.
func Stack(data []byte, path string) ([]Entry, error) {
	var stack []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		// Only a line whose mount point is path is parsed: the table of
		// a busy host has hundreds, read at every start and event.
		if mp, ok := field(sc.Text(), 4); !ok || Unescape(mp) != path {
			continue
		}
		e, err := ParseLine(sc.Text())
		if err != nil {
			return nil, err
		}
		stack = append(stack, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("failed to parse mountinfo: %w", err)
	}
	return stack, nil
}

// field returns the n-th (from 0) space-separated field of line.
func field(line string, n int) (string, bool) {
	for range n {
		i := strings.IndexByte(line, ' ')
		if i < 0 {
			return "", false
		}
		line = line[i+1:]
	}
	if i := strings.IndexByte(line, ' '); i >= 0 {
		line = line[:i]
	}
	return line, line != ""
}

// CurrentTop reads this process's mount table and returns the top mount at
// path.
func CurrentTop(path string) (*Entry, error) {
	stack, err := CurrentStack(path)
	if err != nil || len(stack) == 0 {
		return nil, err
	}
	return &stack[len(stack)-1], nil
}

// CurrentStack reads this process's mount table and returns every mount at
// path, bottom first.
func CurrentStack(path string) ([]Entry, error) {
	data, err := os.ReadFile(Path)
	if err != nil {
		return nil, fmt.Errorf("failed to read mountinfo: %w", err)
	}
	return Stack(data, path)
}

// CurrentByID reads this process's mount table and returns the mount with
// id, or nil when there is none.
func CurrentByID(id int) (*Entry, error) {
	data, err := os.ReadFile(Path)
	if err != nil {
		return nil, fmt.Errorf("failed to read mountinfo: %w", err)
	}
	prefix := strconv.Itoa(id) + " "
	for line := range strings.Lines(string(data)) {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		e, err := ParseLine(strings.TrimSuffix(line, "\n"))
		if err != nil {
			return nil, err
		}
		if e.ID == id {
			return &e, nil
		}
	}
	return nil, nil
}

// OfFd returns the entry of the mount the descriptor fd is on, nil when
// the table lists none (another mount namespace's). AT_STATX_DONT_SYNC:
// the id comes from the VFS, no FUSE server is asked. While fd is open
// its mount keeps its id, so the entry is that mount's.
func OfFd(fd int) (*Entry, error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_STATX_DONT_SYNC, unix.STATX_MNT_ID, &stx); err != nil {
		return nil, fmt.Errorf("failed to read the mount id: %w", err)
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		return nil, fmt.Errorf("the kernel reports no mount id (Linux 5.8 or later needed)")
	}
	return CurrentByID(int(stx.Mnt_id))
}

// Option returns the value of the superblock option name, as user_id in
// "rw,user_id=0,group_id=0".
func (e *Entry) Option(name string) (string, bool) {
	for _, o := range strings.Split(e.SuperOpts, ",") {
		if v, ok := strings.CutPrefix(o, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// ParseLine parses one line of proc(5) mountinfo:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// The optional fields end at a lone "-"; the fstype is the field after it.
func ParseLine(line string) (Entry, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 7 || sep < 0 || sep+2 >= len(f) {
		return Entry{}, fmt.Errorf("failed to parse mountinfo line %q: too few fields", line)
	}
	id, err := strconv.Atoi(f[0])
	if err != nil {
		return Entry{}, fmt.Errorf("failed to parse mountinfo line %q: bad mount id", line)
	}
	return Entry{
		ID:         id,
		Dev:        f[2],
		MountPoint: Unescape(f[4]),
		FSType:     Unescape(f[sep+1]),
		Source:     Unescape(f[sep+2]),
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

// Unescape undoes the kernel's octal escapes (\040 space, \011 tab, \012
// newline, \134 backslash) in a mountinfo field.
func Unescape(s string) string {
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
