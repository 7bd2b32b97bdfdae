package launcher

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

// A local attacker: the test binary re-executed as an unprivileged user
// (nobody), in a tight loop against the paths a test names, while the
// launcher works on them as root. Tests assert what the attacker could
// not achieve.

const (
	attackerEnv = "ARCHIL_TEST_ATTACKER" // "<target>:<path>[:<path>...]"
	nobody      = 65534
)

// attack runs until killed: for each path, again and again, it plants a
// symlink to target, renames the path away (and back), and makes it a
// directory of its own; each step fails or succeeds as the directory's
// owner and mode allow.
func attack(spec string) int {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || os.Geteuid() == 0 {
		fmt.Fprintln(os.Stderr, "attacker: want an unprivileged user and <target>:<path>...")
		return 2
	}
	target, paths := parts[0], parts[1:]
	for {
		for _, p := range paths {
			_ = os.Symlink(target, p)
			_ = os.Rename(p, p+".moved")
			_ = os.Symlink(target, p)
			_ = os.Remove(p + ".moved")
			_ = os.Remove(p)
			_ = os.Mkdir(p, 0o755)
			_ = os.Remove(p)
		}
	}
}

// startAttacker starts the attack on paths as nobody and stops it when the
// test ends.
func startAttacker(t *testing.T, target string, paths ...string) {
	t.Helper()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = []string{attackerEnv + "=" + target + ":" + strings.Join(paths, ":")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out := &testkit.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	testkit.Must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// A bad start shows at once; a good one runs until killed.
	time.Sleep(20 * time.Millisecond)
	if cmd.ProcessState != nil || strings.Contains(out.String(), "attacker:") {
		t.Fatalf("attacker did not start: %s", out)
	}
}

// attackRoot is a temporary directory the attacker can reach: root's,
// 0755, as its parents are made.
func attackRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for d := root; d != "/tmp" && d != "/"; d = filepath.Dir(d) {
		testkit.Must(t, os.Chmod(d, 0o755))
	}
	return root
}

// mkdirOwned makes dir with mode and owner uid (chmod after chown, so the
// mode is exact).
func mkdirOwned(t *testing.T, dir string, mode os.FileMode, uid int) {
	t.Helper()
	testkit.Must(t, os.Mkdir(dir, 0o700))
	testkit.Must(t, os.Chown(dir, uid, uid))
	testkit.Must(t, os.Chmod(dir, mode))
}
