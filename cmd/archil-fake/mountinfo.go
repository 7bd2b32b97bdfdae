package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// archilMounted reports whether /proc/self/mountinfo lists a fuse.archil
// mount at mountPoint.
func archilMounted(mountPoint string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || unescape(fields[4]) != mountPoint {
			continue
		}
		for i, field := range fields[6:] {
			if field == "-" && 6+i+1 < len(fields) && fields[6+i+1] == "fuse.archil" {
				return true
			}
		}
	}
	return false
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
