package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// archilOnTop reports whether the mount on top at mountPoint (the last
// /proc/self/mountinfo entry for it) is a fuse.archil mount. Unmounting by
// path reaches only the top mount: with another mount over ours, that
// would be someone else's.
func archilOnTop(mountPoint string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	top := false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || unescape(fields[4]) != mountPoint {
			continue
		}
		top = false
		for i, field := range fields[6:] {
			if field == "-" && 6+i+1 < len(fields) {
				top = fields[6+i+1] == "fuse.archil"
				break
			}
		}
	}
	return top
}

// unescape undoes mountinfo's octal escapes (\040 for a space...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
