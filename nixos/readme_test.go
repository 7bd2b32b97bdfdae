package nixos_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// The README's NixOS system: its "# flake.nix" and "# configuration.nix"
// blocks, written to a directory and evaluated through the flake's outputs
// inside NixOS (tests/eval/readme.nix).

var nixBlockRe = regexp.MustCompile("(?s)```nix\n(# ([a-z.]+\\.nix)\n.*?)```")

func TestReadmeSystem(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]bool{}
	for _, m := range nixBlockRe.FindAllStringSubmatch(string(b), -1) {
		if err := os.WriteFile(filepath.Join(dir, m[2]), []byte(m[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		files[m[2]] = true
	}
	if !files["flake.nix"] || !files["configuration.nix"] {
		t.Fatalf("README.md has no ```nix blocks starting with '# flake.nix' and '# configuration.nix' (found %v)", files)
	}
	var got map[string]rendered
	mustEval(t, &got, "tests/eval/eval.nix", "-A", "readme", "--arg", "file", filepath.Join(dir, "flake.nix"))
	host, ok := got["host"]
	if !ok {
		t.Fatalf("the README's flake has no nixosConfigurations.host: %v", got)
	}
	for _, unit := range []string{"archil-mount-data.service", "archil-mount-models.service", "archil-token-data.path"} {
		if _, ok := host.Rendered.Units[unit]; !ok {
			t.Errorf("the README's system has no %s", unit)
		}
	}
	if !strings.Contains(host.Rendered.Units["archil-mount-data.service"].Text, "etl.service") {
		t.Errorf("the README's data mount is not ordered before etl.service:\n%s", host.Rendered.Units["archil-mount-data.service"].Text)
	}
	if len(host.Warnings) > 0 {
		t.Errorf("the README's system warns: %q", host.Warnings)
	}
}
