package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Xattrs are off by default in 0.8 and on with --enable-xattrs; before 0.8
// on unless --disable-xattrs.
func testXattrs(t *testing.T, f *fake) {
	for _, tc := range []struct {
		oldClient string
		flags     []string
		on        bool
	}{
		{"0", nil, false},
		{"0", []string{"--enable-xattrs"}, true},
		{"1", nil, true},
		{"1", []string{"--disable-xattrs"}, false},
	} {
		f.env["ARCHIL_FAKE_OLD_CLIENT"] = tc.oldClient
		s := f.startAt(f.mp, tc.flags...)
		p := filepath.Join(f.mp, "x")
		writeFile(t, p, "x")
		err := unix.Setxattr(p, "user.k", []byte("v"), 0)
		if !tc.on {
			if !errors.Is(err, unix.EOPNOTSUPP) {
				t.Errorf("old=%s %q: setxattr %v, want EOPNOTSUPP", tc.oldClient, tc.flags, err)
			}
			if _, err := unix.Getxattr(p, "user.k", make([]byte, 16)); !errors.Is(err, unix.EOPNOTSUPP) {
				t.Errorf("old=%s %q: getxattr %v, want EOPNOTSUPP", tc.oldClient, tc.flags, err)
			}
		} else {
			buf := make([]byte, 64)
			n, gerr := unix.Getxattr(p, "user.k", buf)
			ln, lerr := unix.Listxattr(p, buf[32:])
			if err != nil || gerr != nil || string(buf[:n]) != "v" || lerr != nil || !strings.Contains(string(buf[32:32+ln]), "user.k") {
				t.Errorf("old=%s %q: set %v, get %q %v, list %v", tc.oldClient, tc.flags, err, buf[:n], gerr, lerr)
			}
		}
		f.mustRun("unmount", f.mp)
		s.wait(t)
	}
}
