package launcher

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The OOM killer taking the launcher would lose a pending write the way a
// SIGKILL does: the supervisor goes, and with it the flush on stop. So the
// launcher makes itself exempt, and gives each client back the score it
// would have had (the unit's OOMScoreAdjust=, by default 0): under memory
// pressure the client, which holds the cache, is what should go.

// clientOOMScore is the launcher's oom_score_adj before ProtectFromOOM, ""
// when that did not run (tests, --check).
var clientOOMScore string

// ProtectFromOOM sets the launcher's oom_score_adj to -1000. Lowering it
// needs CAP_SYS_RESOURCE.
func ProtectFromOOM() error {
	const self = "/proc/self/oom_score_adj"
	fd, err := unix.Open(self, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", self, err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 16)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", self, err)
	}
	clientOOMScore = strings.TrimSpace(string(buf[:n]))
	if _, err := unix.Pwrite(fd, []byte("-1000"), 0); err != nil {
		return fmt.Errorf("failed to exempt the launcher from the OOM killer (CAP_SYS_RESOURCE needed): %w", err)
	}
	return nil
}

// restoreOOMScore gives the client pid (a child, not reaped, so the pid
// is its own) the launcher's score from before ProtectFromOOM. Raising a
// score needs no privilege.
func restoreOOMScore(pid int) {
	if clientOOMScore != "" && clientOOMScore != "-1000" {
		_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/oom_score_adj", []byte(clientOOMScore), 0)
	}
}
