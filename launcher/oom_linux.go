package launcher

import (
	"os"
	"strconv"
	"strings"

	"github.com/archil-nix/archil-launch/internal/logline"
	"golang.org/x/sys/unix"
)

// The OOM killer taking the launcher would lose a pending write the way a
// SIGKILL does: the supervisor goes, and with it the flush on stop. So the
// launcher makes itself exempt, and gives each client back the score it
// would have had (the unit's OOMScoreAdjust=, by default 0): under memory
// pressure the client, which holds the cache, is what should go.

// clientOOMScore is the launcher's oom_score_adj before protectFromOOM, ""
// until that ran (the client started before it has the score as it is).
var clientOOMScore string

// protectFromOOM sets the launcher's oom_score_adj to -1000, once its
// client has started: not on the start-up's path, and the client keeps
// the score it was given. Lowering a score needs CAP_SYS_RESOURCE; without
// it the launcher says so and goes on.
func protectFromOOM(log *logline.Logger) {
	const self = "/proc/self/oom_score_adj"
	fd, err := unix.Open(self, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err == nil {
		defer unix.Close(fd)
		buf := make([]byte, 16)
		var n int
		if n, err = unix.Read(fd, buf); err == nil {
			clientOOMScore = strings.TrimSpace(string(buf[:n]))
			_, err = unix.Pwrite(fd, []byte("-1000"), 0)
		}
	}
	if err != nil {
		log.Warn("the OOM killer may take the launcher: it could not exempt itself (CAP_SYS_RESOURCE needed)", "error", err)
	}
}

// restoreOOMScore gives a child pid started after protectFromOOM (not
// reaped, so the pid is its own) the launcher's score from before. Raising
// a score needs no privilege.
func restoreOOMScore(pid int) {
	if clientOOMScore != "" && clientOOMScore != "-1000" {
		_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/oom_score_adj", []byte(clientOOMScore), 0)
	}
}
