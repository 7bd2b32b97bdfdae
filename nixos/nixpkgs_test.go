package nixos_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Where the evaluation finds nixpkgs: its lib, and a tree with the NixOS
// modules (nixos/lib/eval-config-minimal.nix, nixos/modules/...). Each
// comes from its variable, else the pinned copy beside the repository
// (../shared), else the nixpkgs on NIX_PATH, which holds both.
type nixpkgsPart struct {
	env    string // the variable that names it
	shared string // the pinned copy, relative to the repository's parent
	marker string // a file that must be under it
	what   string
}

var (
	partLib = nixpkgsPart{"NIXPKGS_LIB", "shared/nixpkgs-lib", "lib/default.nix",
		"a nixpkgs or nixpkgs-lib tree, holding lib/default.nix"}
	partModules = nixpkgsPart{"NIXOS_MODULES", "shared/nixpkgs-nixos", "nixos/lib/eval-config-minimal.nix",
		"a nixpkgs tree, holding nixos/lib/eval-config-minimal.nix and nixos/modules"}
)

var (
	nixpkgsOnce  sync.Once
	nixpkgsPaths [2]string
	nixpkgsErr   error
)

// nixArgs returns the --arg flags that hand eval.nix its lib and nixos.
func nixArgs(t *testing.T) []string {
	t.Helper()
	nixpkgsOnce.Do(func() {
		for i, p := range []nixpkgsPart{partLib, partModules} {
			nixpkgsPaths[i], nixpkgsErr = p.find(repoRoot(t))
			if nixpkgsErr != nil {
				return
			}
		}
	})
	if nixpkgsErr != nil {
		t.Fatal(nixpkgsErr)
	}
	return []string{"--arg", "lib", "import " + filepath.Join(nixpkgsPaths[0], "lib"), "--arg", "nixos", nixpkgsPaths[1]}
}

func (p nixpkgsPart) find(root string) (string, error) {
	has := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, p.marker))
		return err == nil
	}
	if dir := os.Getenv(p.env); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil || !has(abs) {
			return "", fmt.Errorf("%s=%s is not %s", p.env, dir, p.what)
		}
		return abs, nil
	}
	var looked []string
	shared := filepath.Join(filepath.Dir(root), p.shared)
	if has(shared) {
		return shared, nil
	}
	looked = append(looked, shared)
	if dir, err := nixPathNixpkgs(); err == nil && has(dir) {
		return dir, nil
	} else if err == nil {
		looked = append(looked, "<nixpkgs> on NIX_PATH ("+dir+")")
	} else {
		looked = append(looked, "<nixpkgs> on NIX_PATH ("+err.Error()+")")
	}
	return "", fmt.Errorf("the NixOS module tests need %s: set %s to one (scripts/test.sh sets NIXPKGS_LIB and NIXOS_MODULES), or put nixpkgs on NIX_PATH; looked at %s",
		p.what, p.env, strings.Join(looked, ", "))
}

// nixPathNixpkgs is <nixpkgs> as nix-instantiate finds it on NIX_PATH.
func nixPathNixpkgs() (string, error) {
	bin, err := exec.LookPath("nix-instantiate")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(bin, "--find-file", "nixpkgs").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", errors.New("not set")
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// TestNixpkgsNotFound: a tree that is not there is one clear error naming
// the variable to set, never a skip or a fallback to something else.
func TestNixpkgsNotFound(t *testing.T) {
	empty := t.TempDir()
	for _, p := range []nixpkgsPart{partLib, partModules} {
		t.Setenv(p.env, empty)
		if _, err := p.find(repoRoot(t)); err == nil || !strings.Contains(err.Error(), p.env+"="+empty+" is not ") {
			t.Errorf("%s set to an empty directory: %v", p.env, err)
		}
		t.Setenv(p.env, "")
		t.Setenv("NIX_PATH", "")
		// The repository's parent without shared/: nothing anywhere.
		if _, err := p.find(filepath.Join(empty, "repo")); err == nil || !strings.Contains(err.Error(), "set "+p.env+" to one") {
			t.Errorf("%s unset, no shared/, no NIX_PATH: %v", p.env, err)
		}
	}
}
