package launcher

import (
	"context"
	"fmt"

	"github.com/archil-nix/archil-launch/broker"
	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// Run runs the mount described by cfg until ctx is done (SIGTERM/SIGINT)
// or the mount fails: credential, preflight, client, readiness (READY=1),
// supervision, stop. It returns nil after a clean stop; any other result
// carries the exit status for ExitCode.
//
// Run calls catchSignals (which installs the caller's signal handling, so
// that SIGTERM cancels ctx; nil: none to install) before preflight's
// `archil unmount` of a mount a killed launcher left, and once the client
// is started, before it waits for the mount. Not before the client's exec:
// the runtime's first signal.Notify needs a thread of its own, which takes
// longer than all the rest of the start-up. A SIGTERM before it ends the
// launcher by default action, and the unit's stop hook (StopHook) stops a
// client already started, as for any launcher that died.
func Run(ctx context.Context, catchSignals func(), cfg *config.Config, log *logline.Logger) error {
	setRunning(nil, log)
	defer recoverStop()
	res, err := broker.Resolve(ctx, broker.Request{
		Method:      cfg.AuthMethod,
		Credential:  cfg.Credential,
		IMDSTimeout: cfg.IMDSTimeout,
	})
	if err != nil {
		if ctx.Err() != nil {
			// Stopped while looking (an IMDS probe can take seconds):
			// nothing was mounted, so this is a clean stop.
			log.Info("stop requested while resolving the credential")
			warnNotify(log, notify("STOPPING=1"))
			return nil
		}
		return exitErr(1, fmt.Errorf("failed to resolve the credential: %w", err))
	}
	log.Info("credential found", "method", cfg.AuthMethod, "source", res.Source, "location", res.Location)
	for _, w := range res.Warnings {
		log.Warn(w)
	}
	return run(ctx, catchSignals, cfg, log, res)
}

// run is Run after the credential was resolved.
func run(ctx context.Context, catchSignals func(), cfg *config.Config, log *logline.Logger, res *broker.Result) error {
	handlersReady := func() {
		if catchSignals != nil {
			catchSignals()
		}
	}
	// Preflight runs to its end even if a stop comes meanwhile: it may be
	// flushing a mount a killed launcher left, bounded by stopTimeoutSec.
	// The unit's start timeout (readyTimeoutSec + 30 s) does not plan for
	// that flush: ask systemd for the time it and the rest of the start
	// can take.
	beforeFlush := func() {
		handlersReady()
		warnNotify(log, notify(extendTimeout(cfg.StopTimeout+leaveGrace+killGrace+cfg.ReadyTimeout+startMargin)))
	}
	lock, err := lockMountPoint(cfg.MountPoint)
	if err != nil {
		return exitErr(1, err)
	}
	defer lock.Release()
	if err := Preflight(cfg, log, beforeFlush); err != nil {
		return exitErr(1, err)
	}
	if ctx.Err() != nil {
		log.Info("stop requested before mounting")
		warnNotify(log, notify("STOPPING=1"))
		return nil
	}
	m, err := Start(ctx, cfg, res.Token, log)
	if err != nil {
		return exitErr(1, err)
	}
	handlersReady()
	protectFromOOM(log)
	setRunning(m, log)
	defer setRunning(nil, log)
	// Deferred last, run first: a panic here stops the mount while it is
	// still named and the lock still held.
	defer recoverStop()
	warnNotify(log, notify(status("Mounting "+cfg.DiskName+" at "+cfg.MountPoint)))

	if err := m.WaitReady(ctx); err != nil {
		if ctx.Err() != nil {
			// Cancelled mount: nothing was promised yet, so a clean-up
			// that needed a fallback is still a clean stop.
			log.Info("stop requested before the mount was ready; cancelling it")
			warnNotify(log, notify("STOPPING=1"))
			if err := m.Stop(); err != nil {
				log.Warn("cancelled mount needed a fallback unmount", "error", err)
			}
			log.Info("stopped")
			return nil
		}
		warnNotify(log, notify(status("Failed: "+err.Error())))
		return m.Abort(err)
	}

	watchdog, err := watchdogInterval()
	if err != nil {
		log.Warn("watchdog disabled", "error", err)
	}
	if err := notifyReady("Mounted "+cfg.DiskName+" at "+cfg.MountPoint, watchdog > 0); err != nil {
		// systemd did not hear READY=1 and will time the unit out; do
		// not leave a mount it does not know about.
		log.Error("failed to report readiness; stopping", "error", err)
		stopErr := m.Stop()
		return exitErr(1, fmt.Errorf("%w (the mount was stopped%s)", err, stopNote(stopErr)))
	}
	log.Info("mount ready", "mount_point", cfg.MountPoint)

	ping := func() { warnNotify(log, notify("WATCHDOG=1")) }
	if err := m.Supervise(ctx, watchdog, ping); err != nil {
		log.Error("mount failed", "error", err)
		warnNotify(log, notify(status("Failed: "+err.Error())))
		return m.Abort(err)
	}

	log.Info("stopping", "mount_point", cfg.MountPoint)
	warnNotify(log, notify("STOPPING=1\n"+status("Unmounting "+cfg.MountPoint)))
	if err := m.Stop(); err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

// warnNotify logs a notification that systemd did not take. Only READY=1
// is fatal; a lost STATUS or STOPPING line changes nothing.
func warnNotify(log *logline.Logger, err error) {
	if err != nil {
		log.Warn("systemd notification failed", "error", err)
	}
}

func stopNote(err error) string {
	if err != nil {
		return ", not cleanly: " + err.Error()
	}
	return ""
}
