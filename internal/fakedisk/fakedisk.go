// Package fakedisk names a disk's directories in archil-fake's state
// directory, for the double itself and for the tests that look into its
// backing store.
package fakedisk

import (
	"path/filepath"
	"strings"
)

// Key turns a disk name (without its ":/sub" suffix) into one path
// segment: bytes other than letters, digits, '.', '-' and '@' become '_'.
func Key(disk string) string {
	b := []byte(disk)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == '@'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		return "_" + string(b)
	}
	return string(b)
}

// Backing is the backing-store directory of disk (which may end in
// ":/sub/path") under the state directory.
func Backing(state, disk string) string {
	name, sub, _ := strings.Cut(disk, ":")
	return filepath.Join(state, "backing", Key(name), filepath.Clean("/"+sub))
}
