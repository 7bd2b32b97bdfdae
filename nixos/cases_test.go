package nixos_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// The module's own cases: tests/cases/*.nix, each a NixOS module with a
// header:
//
//	# expect: ok                      evaluates, renders, no failed assertion
//	# expect: error <text>            fails; the error contains <text>
//	# expect-also: <text>             ... and <text>
//	# warning: <text>                 a warning contains <text>
//	# unit-line: <unit> <line>        the unit's text has this line (store
//	#                                 paths as their stand-ins, see toFHS)
//	# unit-link: <unit> <link>        NixOS links the unit so
//	#                                 (<target>.requires/<unit>)
//	# no-unit: <unit>                 no such unit is rendered

type caseHeader struct {
	ok       bool
	errors   []string
	warnings []string
	units    []unitCheck
}

// unitCheck is one unit-line, unit-link or no-unit header.
type unitCheck struct{ kind, unit, arg string }

func readCaseHeader(t *testing.T, path string) caseHeader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h caseHeader
	seen := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		key, value, _ := strings.Cut(line, ": ")
		switch key {
		case "expect":
			if value == "ok" {
				h.ok, seen = true, true
			} else if e, ok := strings.CutPrefix(value, "error "); ok {
				h.errors, seen = append(h.errors, e), true
			}
		case "expect-also":
			h.errors = append(h.errors, value)
		case "warning":
			h.warnings = append(h.warnings, value)
		case "unit-line", "unit-link", "no-unit":
			unit, arg, _ := strings.Cut(value, " ")
			h.units = append(h.units, unitCheck{key, unit, arg})
		}
	}
	if !seen {
		t.Fatalf("%s: no '# expect: ok' or '# expect: error <text>' header", path)
	}
	return h
}

// check reports what of c the rendered units do not hold; store paths in
// a unit-line are written as their stand-ins (golden_test.go's toFHS).
func (c unitCheck) check(t *testing.T, units map[string]renderedUnit) string {
	u, ok := units[c.unit]
	u.Text = toFHS(t, c.unit, u.Text)
	switch {
	case c.kind == "no-unit":
		if ok {
			return fmt.Sprintf("%s is rendered:\n%s", c.unit, u.Text)
		}
	case !ok:
		return fmt.Sprintf("no unit %s rendered (have %v)", c.unit, slices.Sorted(maps.Keys(units)))
	case c.kind == "unit-line" && !slices.Contains(strings.Split(u.Text, "\n"), c.arg):
		return fmt.Sprintf("%s has no line %q:\n%s", c.unit, c.arg, u.Text)
	case c.kind == "unit-link" && !slices.Contains(u.Links, c.arg):
		return fmt.Sprintf("%s is not linked as %s (links %q)", c.unit, c.arg, u.Links)
	}
	return ""
}

// rendered is render.nix's output: what a system build takes from the
// configuration.
type rendered struct {
	Warnings []string `json:"warnings"`
	Rendered struct {
		Units          map[string]renderedUnit `json:"units"`
		Etc            map[string]string       `json:"etc"`
		SystemPackages []string                `json:"systemPackages"`
		KernelModules  []string                `json:"kernelModules"`
	} `json:"rendered"`
}

type renderedUnit struct {
	Text  string   `json:"text"`
	Links []string `json:"links"` // <target>.wants/<unit>, <target>.requires/<unit>
}

func TestModuleCases(t *testing.T) {
	files, err := filepath.Glob("tests/cases/*.nix")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in tests/cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".nix"), func(t *testing.T) {
			h := readCaseHeader(t, file)
			abs, _ := filepath.Abs(file)
			out, stderr, err := nixEval(t, "tests/eval/eval.nix", "-A", "case", "--arg", "file", abs)
			if h.ok {
				if err != nil {
					t.Fatalf("want ok, evaluation failed: %v\n%s", err, stderr)
				}
				var r rendered
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatal(err)
				}
				for _, w := range h.warnings {
					if !slices.ContainsFunc(r.Warnings, func(got string) bool { return strings.Contains(squash(got), w) }) {
						t.Errorf("no warning containing %q in %q", w, r.Warnings)
					}
				}
				if len(h.warnings) == 0 && len(r.Warnings) > 0 {
					t.Errorf("unexpected warnings: %q", r.Warnings)
				}
				for _, c := range h.units {
					if problem := c.check(t, r.Rendered.Units); problem != "" {
						t.Error(problem)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q, evaluation succeeded:\n%s", h.errors, out)
			}
			for _, want := range h.errors {
				if !strings.Contains(squash(stderr), squash(want)) {
					t.Errorf("error does not contain %q:\n%s", want, stderr)
				}
			}
		})
	}
}
