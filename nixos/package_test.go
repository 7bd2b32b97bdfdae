package nixos_test

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// vendorHash in nixos/package.nix (used by flake.nix and the module) matches
// go.mod/go.sum: the hash of `go mod vendor`'s output, as buildGoModule
// computes it.

var vendorHashRe = regexp.MustCompile(`vendorHash = (null|"(sha256-[A-Za-z0-9+/=]+)");`)

func TestVendorHash(t *testing.T) {
	nixHash := needTool(t, "nix-hash")
	root := repoRoot(t)
	pkg, err := os.ReadFile("package.nix")
	if err != nil {
		t.Fatal(err)
	}
	m := vendorHashRe.FindSubmatch(pkg)
	if m == nil {
		t.Fatal("package.nix: no vendorHash = \"sha256-...\"; line")
	}
	have := string(m[1])

	vendor := filepath.Join(t.TempDir(), "vendor")
	cmd := exec.Command("go", "mod", "vendor", "-o", vendor)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	want := "null"
	if _, err := os.Stat(vendor); err == nil {
		out, err := exec.Command(nixHash, "--type", "sha256", vendor).Output()
		if err != nil {
			t.Fatalf("nix-hash: %v", err)
		}
		sum, err := hex.DecodeString(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("nix-hash output %q: %v", out, err)
		}
		want = `"sha256-` + base64.StdEncoding.EncodeToString(sum) + `"`
	}
	if have != want {
		t.Errorf("nixos/package.nix has vendorHash = %s; go.mod/go.sum need vendorHash = %s;", have, want)
	}
}

// ---------------------------------------------------------------------------
// nixos/package.nix, evaluated with a stand-in buildGoModule (no Nixpkgs
// here): both programs, with the meta the module relies on (lib.getExe),
// the license of the LICENSE file and a homepage.

func TestPackageEval(t *testing.T) {
	var got map[string]struct {
		Pname       string   `json:"pname"`
		SubPackages []string `json:"subPackages"`
		MainProgram string   `json:"mainProgram"`
		Homepage    string   `json:"homepage"`
		License     string   `json:"license"`
	}
	mustEval(t, &got, "tests/eval/package.nix")
	for _, prog := range []string{"archil-launch", "archil-fake"} {
		p := got[prog]
		if p.Pname != prog || p.MainProgram != prog || !slices.Equal(p.SubPackages, []string{"cmd/" + prog}) {
			t.Errorf("package.nix with program = %q: %+v", prog, p)
		}
		// What a Nixpkgs reviewer asks for; the license is the LICENSE file's.
		if p.License != "MIT" || !strings.HasPrefix(p.Homepage, "https://") {
			t.Errorf("package.nix with program = %q: meta.license %q, meta.homepage %q", prog, p.License, p.Homepage)
		}
		if _, err := os.Stat(filepath.Join(repoRoot(t), "cmd", prog)); err != nil {
			t.Errorf("package.nix builds cmd/%s: %v", prog, err)
		}
	}
}
