package launcher

import (
	"errors"
	"fmt"
	"os"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// StopHook is `archil-launch --config FILE --stop`, the unit's
// ExecStopPost=. systemd runs it once the launcher is gone, whatever ended
// it; the unit's KillMode=process has left the client alone. After a clean
// stop it finds nothing to do. After a death the launcher could not
// prevent (SIGKILL, a fatal runtime error, the watchdog's abort) it finds
// the lock free and the client still serving the mount: it runs the stop
// sequence itself (`archil unmount`, which flushes pending writes, then a
// detach by descriptor if needed) and then ends every other process of the
// unit, so that none survives the stop and the next start is clean.
//
// A lock held by another process means another launcher of the same mount
// point runs: the mount is its own, and so is the flush of anything this
// unit's client left (its preflight does that), so the hook touches
// nothing. It returns nil when there was nothing to flush or `archil
// unmount` flushed it, an *ExitError (1) when a fallback was needed.
func StopHook(cfg *config.Config, log *logline.Logger) error {
	mp := cfg.MountPoint
	lock, err := lockMountPoint(mp)
	var held *LockedError
	if errors.As(err, &held) {
		log.Info("another launcher of this mount point runs; leaving its mount to it", "mount_point", mp, "pid", held.Holder)
		return nil
	}
	if err != nil {
		return exitErr(1, err)
	}
	defer lock.Release()
	protectFromOOM(log)
	drained := drainUnitOutput(log)
	result := flushLeft(cfg, log)
	if err := endUnitProcesses(log); err != nil {
		result = joinErr(result, err)
	}
	drained.wait()
	if result != nil {
		return exitErr(1, result)
	}
	return nil
}

// flushLeft stops the archil mount a dead launcher left at the mount point,
// if any. The caller holds the lock, so no launcher of this mount point
// lives: an archil mount there is a leftover.
func flushLeft(cfg *config.Config, log *logline.Logger) error {
	mp := cfg.MountPoint
	top, err := mountinfo.CurrentTop(mp)
	if err != nil {
		return err
	}
	if !isArchil(top) {
		log.Info("no archil mount left at the mount point; nothing to flush", "mount_point", mp)
		return nil
	}
	log.Warn("the launcher is gone and its archil mount is still there; stopping it",
		"mount_point", mp, "service_result", os.Getenv("SERVICE_RESULT"),
		"exit_code", os.Getenv("EXIT_CODE"), "exit_status", os.Getenv("EXIT_STATUS"))
	flushed, err := clearStale(cfg, top, log, nil)
	switch {
	case err != nil:
		return err
	case !flushed:
		return fmt.Errorf("the archil mount at %s could not be flushed with archil unmount; pending writes may be lost", mp)
	}
	return nil
}
