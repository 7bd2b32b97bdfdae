package nixos_test

import (
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// The VM test (tests/vm.nix) cannot run here; its node must at least
// evaluate with the module and pass every assertion.

func TestVMTestEvaluates(t *testing.T) {
	var got struct {
		Name       string              `json:"name"`
		TestScript string              `json:"testScript"`
		Nodes      map[string]rendered `json:"nodes"`
	}
	mustEval(t, &got, "tests/eval/eval.nix", "-A", "vm")
	for _, unit := range []string{"archil-mount-data.service", "archil-mount-models.service"} {
		if _, ok := got.Nodes["machine"].Rendered.Units[unit]; !ok {
			t.Errorf("VM node has no %s unit", unit)
		}
	}
	for _, want := range []string{"archil-launch --check", "machine.shutdown()", "fuse.archil"} {
		if !strings.Contains(got.TestScript, want) {
			t.Errorf("VM test script does not contain %q", want)
		}
	}
}
