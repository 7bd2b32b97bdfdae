package layout

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

const module = "github.com/archil-nix/archil-launch/"

// mayUse lists, for every package of the module outside internal/, the
// module's packages outside internal/ that it may depend on, directly or
// not. A package missing here fails the test: a new package states its
// place. Packages under internal/ may use only each other.
var mayUse = map[string][]string{
	"authsrc":             nil,
	"broker":              {"authsrc"},
	"launcher/config":     nil, // pure rules: nothing of ours but internal/
	"launcher":            {"launcher/config", "broker", "authsrc"},
	"launcher/check":      {"launcher", "launcher/config", "broker", "authsrc"},
	"cmd/archil-launch":   {"launcher", "launcher/check", "launcher/config", "broker", "authsrc"},
	"cmd/archil-fake":     nil,
	"bench/cli":           nil,
	"bench/cli/floor":     nil,
	"demo/notifyd":        nil,
	"e2e":                 nil,
	"e2e/archil-realfuse": nil,
	"nixos":               nil,
	"internal/layout":     nil,
	"internal/bounded":    nil,
	"internal/logline":    nil,
	"internal/safepath":   {"internal/mountinfo"},
	"internal/logsink":    nil,
	"internal/probe":      nil,
	"internal/fakedisk":   nil,
	"internal/mountinfo":  nil,
	"internal/mountns":    nil,
	"internal/smallfile":  nil,
	"internal/testkit":    nil,
}

type pkg struct {
	ImportPath string
	Deps       []string
}

// TestImportsPointOneWay fails on an import from launcher/config into the
// lifecycle, from the lifecycle into launcher/check, from broker or authsrc
// into launcher, and on any other edge mayUse does not list.
func TestImportsPointOneWay(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < len(mayUse)-2 {
		t.Fatalf("go list found %d packages, want about %d", len(pkgs), len(mayUse))
	}
	for _, p := range pkgs {
		name := strings.TrimPrefix(p.ImportPath, module)
		allowed, known := mayUse[name]
		if !known {
			t.Errorf("%s: not in mayUse; add it with the packages it may use", name)
			continue
		}
		for _, dep := range p.Deps {
			d, ours := strings.CutPrefix(dep, module)
			if !ours || strings.HasPrefix(d, "internal/") && !strings.HasPrefix(name, "internal/") {
				continue
			}
			if !slices.Contains(allowed, d) {
				t.Errorf("%s depends on %s, which it may not (allowed: %v)", name, d, allowed)
			}
		}
	}
}

// listPackages runs go list -deps on every package of the module, tests
// not included: what ships is what the layout is about.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goTool, "list", "-tags", "e2e", "-json=ImportPath,Deps", "./...")
	cmd.Dir = testkit.ModuleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
