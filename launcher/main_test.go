package launcher

import (
	"os"
	"testing"

	"github.com/archil-nix/archil-launch/internal/mountns"
)

// The launcher takes its locks under /run: a tmpfs of the tests' own. A
// test binary started as an attacker (see attacker_linux_test.go) runs
// its attack instead of the tests.
func TestMain(m *testing.M) {
	if spec := os.Getenv(attackerEnv); spec != "" {
		os.Exit(attack(spec))
	}
	mountns.Main(m, mountns.TmpfsOn("/run"))
}
