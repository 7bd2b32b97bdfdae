package launcher

import "testing"

// systemd unescapes a notification like a C string: a status line doubles
// its backslashes and keeps to one line (the container suite's
// TestUnitEscaping shows READY=1 is lost otherwise).
func TestStatusLine(t *testing.T) {
	for text, want := range map[string]string{
		`Mounted org/d at /mnt/x\`:   `STATUS=Mounted org/d at /mnt/x\\`,
		"Failed: a\nb":               "STATUS=Failed: a b",
		`Mounted org/d at /mnt/\x20`: `STATUS=Mounted org/d at /mnt/\\x20`,
	} {
		if got := status(text); got != want {
			t.Errorf("status(%q) = %q, want %q", text, got, want)
		}
	}
}
