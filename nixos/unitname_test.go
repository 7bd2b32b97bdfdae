package nixos_test

import (
	"os/exec"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// unit-name.nix names a mount point's .mount unit as systemd does.

func TestMountUnitName(t *testing.T) {
	escape := needTool(t, "systemd-escape")
	paths := []string{
		"/mnt/data", "/mnt/archil/data", "/srv/a:b_c.d", "/var/lib/x-y",
		"/mnt/my disk", "/mnt/what?", "/mnt/a\\b", "/mnt/%i", "/mnt/@home",
		"/.hidden", "/mnt/.hidden", "/mnt/données", "/mnt/日本語", "/mnt/😀",
		"/mnt/a\u00a0b", "/mnt/" + strings.Repeat("x", 240), "/mnt/" + strings.Repeat("é", 100),
	}
	for _, v := range loadVectors(t) {
		if mp, ok := v.mount["mountPoint"].(string); ok && v.ok {
			paths = append(paths, mp)
		}
	}
	var got []*string
	mustEval(t, &got, "tests/eval/eval.nix", "-A", "mountUnits", "--arg", "casesFile", writeJSON(t, paths))
	hashed := 0
	for i, p := range paths {
		out, err := exec.Command(escape, "--path", "--suffix=mount", p).Output()
		if err != nil {
			t.Fatalf("systemd-escape %q: %v", p, err)
		}
		want := strings.TrimSuffix(string(out), "\n")
		switch {
		case len(want) > 255: // systemd hashes such a name; the module leaves it out
			hashed++
			if got[i] != nil {
				t.Errorf("%q: want no name (systemd hashes %d bytes), got %q", p, len(want), *got[i])
			}
		case got[i] == nil || *got[i] != want:
			t.Errorf("%q: module names %v, systemd-escape %q", p, got[i], want)
		}
	}
	if hashed == 0 {
		t.Error("no path long enough to test the hashed-name case")
	}
	t.Logf("%d mount unit names agree with systemd-escape (%d too long, left out)", len(paths), hashed)
}
