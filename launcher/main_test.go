package launcher

import (
	"testing"

	"github.com/archil-nix/archil-launch/internal/mountns"
)

// Every test of this package runs in a private mount namespace: the
// lifecycle tests mount and unmount, and nothing may reach the host.
// The launcher takes its locks under /run: a tmpfs of the tests' own.
func TestMain(m *testing.M) { mountns.Main(m, mountns.TmpfsOn("/run")) }
