package launcher

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"log/slog"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/logsink"
)

// A panic must not cost a write. Run, and every goroutine the launcher
// starts, defer recoverStop: a panic is logged with its stack, the running
// mount is stopped as on SIGTERM (`archil unmount` first, so pending writes
// reach the store), and the process exits 1, so that Restart= mounts again.
// What no recover can catch (a fatal runtime error, SIGKILL, the watchdog's
// SIGABRT) is the stop hook's to clean up (StopHook).

var current struct {
	sync.Mutex
	mount *Mount
	log   *logline.Logger
}

// exit ends the process after a panic; tests replace it.
var exit = os.Exit

// setRunning names what a panic must stop: the mount (nil before it is
// started) and the logger.
func setRunning(m *Mount, log *logline.Logger) {
	current.Lock()
	defer current.Unlock()
	current.mount, current.log = m, log
}

// recoverStop is deferred at the top of Run and of every goroutine of the
// launcher; see above.
func recoverStop() {
	if r := recover(); r != nil {
		crashed(r, debug.Stack())
	}
}

func crashed(r any, stack []byte) {
	current.Lock()
	m, log := current.mount, current.log
	current.Unlock()
	if log == nil {
		log = logline.New(logsink.Stderr(), "archil-launch", slog.LevelInfo)
	}
	log.Error("panic; stopping the mount before exiting", "panic", fmt.Sprint(r), "stack", string(stack))
	if m != nil {
		err := m.Stop()
		switch {
		case !m.finished.Load():
			// The panic came from the stop sequence itself (sync.Once
			// counts it done): the stop hook, or the next start, clears
			// what is left.
			log.Error("the stop sequence was cut short by the panic; the mount may be left behind")
		case err != nil:
			log.Error("stop after the panic was not clean", "error", err)
		default:
			log.Info("stopped cleanly after the panic")
		}
	}
	logsink.Stderr().Flush(2 * time.Second)
	exit(1)
}
