package nixos_test

import (
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// The VM test (tests/vm.nix) cannot run here (no KVM, no Nix store); its
// node and its specialisation must at least evaluate with the module inside
// NixOS and pass every assertion, and its script must do what it says.

func TestVMTestEvaluates(t *testing.T) {
	type node struct {
		rendered
		Specialisations map[string]rendered `json:"specialisations"`
	}
	var got struct {
		Name       string          `json:"name"`
		TestScript string          `json:"testScript"`
		Nodes      map[string]node `json:"nodes"`
	}
	mustEval(t, &got, "tests/eval/eval.nix", "-A", "vm")
	machine := got.Nodes["machine"]
	for _, unit := range []string{"archil-mount-data.service", "archil-mount-vault.service", "archil-mount-secure.service", "archil-mount-models.service"} {
		if _, ok := machine.Rendered.Units[unit]; !ok {
			t.Errorf("VM node has no %s unit", unit)
		}
	}
	if len(machine.Warnings) > 0 {
		t.Errorf("VM node warns: %q", machine.Warnings)
	}
	// The switch step: the specialisation changes the data mount's unit,
	// which NixOS marks as not to be restarted.
	changed, ok := machine.Specialisations["changed"]
	if !ok {
		t.Fatal("VM node has no specialisation 'changed' for the switch step")
	}
	before, after := machine.Rendered.Units["archil-mount-data.service"].Text, changed.Rendered.Units["archil-mount-data.service"].Text
	if before == after {
		t.Error("the specialisation does not change archil-mount-data.service: the switch step proves nothing")
	}
	if !strings.Contains(after, "X-RestartIfChanged=false") {
		t.Errorf("archil-mount-data.service of the specialisation lacks X-RestartIfChanged=false:\n%s", after)
	}
	for _, want := range []string{
		"archil-launch --check", "machine.shutdown()", "fuse.archil",
		"switch-to-configuration test", "InvocationID",
		"knobs/flush-delay", `assert out.strip() == ""`, "consumer.service",
		"wait_for_open_port", "/srv/vault", "/srv/secure",
	} {
		if !strings.Contains(got.TestScript, want) {
			t.Errorf("VM test script does not contain %q", want)
		}
	}
	// The flush delay is set before the reboot, not after it.
	if strings.Index(got.TestScript, "knobs/flush-delay") > strings.Index(got.TestScript, "machine.shutdown()") {
		t.Error("the VM test sets the flush delay only after the reboot")
	}
}
