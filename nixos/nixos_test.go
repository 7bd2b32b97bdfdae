// Package nixos_test evaluates the NixOS module (nixos/module.nix) inside
// NixOS' own modules with nix-instantiate (tests/eval/nixos.nix): the
// module's own test cases, the launcher's config vectors (the two must
// agree), the golden unit files, the VM test's nodes, the README's flake,
// docs/options.md, the flake's vendorHash, and that every .nix file parses.
//
// Needs nix-instantiate and nix-hash on PATH, nixpkgs' lib and the NixOS
// modules (nixpkgs_test.go says where they are looked for). A missing tool
// is a test failure, not a skip.
//
// UPDATE_GOLDEN=1 go test ./nixos/ rewrites tests/golden and
// docs/options.md.
package nixos_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = os.Getenv("UPDATE_GOLDEN") != ""

// repoRoot is the module root: tests run in nixos/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required for the NixOS module tests: %v", name, err)
	}
	return p
}

// nixEval runs nix-instantiate --eval --strict --json on file with args.
// It returns stdout, and stderr with an error when evaluation failed.
func nixEval(t *testing.T, file string, args ...string) ([]byte, string, error) {
	t.Helper()
	bin := needTool(t, "nix-instantiate")
	full := append(append([]string{"--eval", "--strict", "--json", file}, nixArgs(t)...), args...)
	cmd := exec.Command(bin, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.String(), err
}

func mustEval(t *testing.T, v any, file string, args ...string) {
	t.Helper()
	out, stderr, err := nixEval(t, file, args...)
	if err != nil {
		t.Fatalf("nix-instantiate %s %v: %v\n%s", file, args, err, stderr)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("decoding nix output: %v", err)
	}
}

// writeJSON writes v to a temporary file for eval.nix's casesFile.
func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// squash folds whitespace runs into one space: Nix indents and wraps
// multi-line error messages.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// ---------------------------------------------------------------------------
// Every .nix file parses.

func TestNixFilesParse(t *testing.T) {
	bin := needTool(t, "nix-instantiate")
	root := repoRoot(t)
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "vendor" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".nix") {
			return nil
		}
		n++
		if out, err := exec.Command(bin, "--parse", p).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", p, err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d .nix files parse", n)
}
