package mountinfo

import (
	"strings"
	"testing"
)

func TestTop(t *testing.T) {
	data := strings.Join([]string{
		`22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw`,
		`30 22 0:40 / /mnt/a\040b rw,nosuid,nodev master:3 shared:9 - fuse.archil acme/data[aws-us-east-1] rw,user_id=0`,
		`31 22 0:41 / /mnt/a rw - tmpfs tmpfs rw`,
		`32 30 0:42 / /mnt/a\040b rw - tmpfs none rw`,
		`33 22 0:43 / /mnt/tab\011nl\012bs\134 rw - fuse.archil x rw`,
		`34 22 0:44 / /mnt/dash - rw - fuse.archil y rw`,
	}, "\n") + "\n"
	tests := []struct {
		path   string
		id     int
		fstype string
	}{
		{"/mnt/a b", 32, "tmpfs"}, // the last entry is on top
		{"/mnt/a", 31, "tmpfs"},
		{"/mnt/tab\tnl\nbs\\", 33, "fuse.archil"},
		{"/mnt/dash", 34, "fuse.archil"}, // a "-" mount point is not the separator
		{"/", 22, "ext4"},
	}
	for _, tt := range tests {
		top, err := Top([]byte(data), tt.path)
		if err != nil {
			t.Fatalf("Top(%q): %v", tt.path, err)
		}
		if top == nil || top.ID != tt.id || top.FSType != tt.fstype {
			t.Errorf("Top(%q) = %+v, want id %d fstype %s", tt.path, top, tt.id, tt.fstype)
		}
	}
	for _, path := range []string{"/mnt", "/mnt/a b/c", "/mnt/a\\040b"} {
		if top, err := Top([]byte(data), path); err != nil || top != nil {
			t.Errorf("Top(%q) = %+v, %v; want nothing", path, top, err)
		}
	}
}

func TestParseMountinfoLineErrors(t *testing.T) {
	for _, line := range []string{
		"",
		"22 1 0:21 / / rw,relatime shared:1 ext4 /dev/vda rw", // no separator
		"22 1 0:21 / / rw -", // nothing after it
		"x 1 0:21 / / rw - ext4 /dev/vda rw",
	} {
		if _, err := ParseLine(line); err == nil {
			t.Errorf("ParseLine(%q): no error", line)
		}
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:         "plain",
		`a\040b`:        "a b",
		`\134\134`:      `\\`,
		`trailing\04`:   `trailing\04`,
		`not\999octal`:  `not\999octal`,
		`\011\012\040x`: "\t\n x",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
