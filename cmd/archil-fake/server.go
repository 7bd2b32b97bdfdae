package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// server is a running mount: the FUSE server, its store and its control
// socket.
type server struct {
	args  *mountArgs
	store *store
	fuse  *fuse.Server
	dev   string // major:minor of our mount, to tell it from one over it

	stats     *metrics
	mountedAt time.Time
	logLevel  string // the level it was started with
	delegated bool   // it holds the disk's root delegation

	dropped   atomic.Bool   // drop-after detached the mount
	requested atomic.Bool   // `archil-fake unmount` is unmounting
	replied   chan struct{} // closed once that request is answered
	replyOnce sync.Once
	unmountMu sync.Mutex
}

// serve mounts and serves until the mount goes away or a signal arrives.
func serve(st *state, a *mountArgs) error {
	sigs := make(chan os.Signal, 1)
	if st.knobOn(knobIgnoreSigterm) {
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}

	if d, ok := st.seconds(knobMountDelay); ok {
		logf("info", "waiting %v before mounting (knob %s)", d, knobMountDelay)
		select {
		case <-time.After(d):
		case sig := <-sigs:
			logf("info", "%v before mounting, exiting", sig)
			signalReady(fmt.Errorf("mount cancelled by %v", sig))
			return nil
		}
	}

	backing, cache, err := st.diskDirs(a.disk)
	if err != nil {
		return err
	}
	delay, _ := st.seconds(knobFlushDelay)
	// Read now, not once mounted: a test may clear a knob as soon as the
	// mount is ready, and it must still apply to this mount.
	faults := readFaults(st)
	srv := &server{
		args:     a,
		store:    newStore(cache, backing, delay),
		stats:    newMetrics(),
		logLevel: levels[logLevel],
		replied:  make(chan struct{}),
	}
	use, err := st.useDisk(a, srv.store.pull)
	if err != nil {
		return err
	}
	defer use.close() // once the mount is gone: a clean exit
	srv.delegated = use.del != nil
	root, err := newRoot(cache, &fsys{store: srv.store, stats: srv.stats, readOnly: a.readOnly})
	if err != nil {
		return fmt.Errorf("failed to open cache: %w", err)
	}
	ln, err := st.listenCtl(a.mountPoint)
	if err != nil {
		return err
	}
	defer ln.Close()
	if a.writebackCache {
		logf("warn", "--writeback-cache: go-fuse cannot ask for it, caching write-through")
	}
	srv.fuse, srv.dev, err = mountFS(a.mountPoint, root, a.fuseOptions())
	if err != nil {
		return fmt.Errorf("mount failed: %w", err)
	}
	srv.mountedAt = time.Now()
	logf("info", "mounted %s at %s (%s, flush delay %v)", a.fsName(), a.mountPoint, a.mode(), delay)
	signalReady(nil)
	if a.logMetrics {
		defer func() { logf("info", "metrics: %+v", srv.stats.snapshot(srv.store, false)) }()
	}

	stop := make(chan struct{})
	defer close(stop)
	go srv.store.run(stop)
	go srv.acceptCtl(ln)
	srv.startFaults(faults)

	done := make(chan struct{})
	go func() { srv.fuse.Wait(); close(done) }()
	for {
		select {
		case <-done:
			done = nil
			switch {
			case srv.requested.Load():
				<-srv.replied
				logf("info", "exiting")
				return nil
			case srv.dropped.Load():
				logf("info", "mount detached, still running (knob %s)", knobDropAfter)
			default:
				logf("warn", "unmounted without archil-fake unmount: %d pending changes lost", srv.store.pendingCount())
				logf("info", "exiting")
				return nil
			}
		case sig := <-sigs:
			logf("info", "%v: unmounting without flushing (%d pending changes lost)", sig, srv.store.pendingCount())
			if done == nil || srv.dropped.Load() || !srv.onTop() {
				logf("info", "not mounted (or covered by another mount), exiting")
				return nil
			}
			if err := srv.fuse.Unmount(); err != nil {
				// Exiting leaves a dead mount behind.
				return fmt.Errorf("unmount on %v failed: %w", sig, err)
			}
			logf("info", "exiting")
			return nil
		}
	}
}

// faults are the knobs that act on a running mount, read before mounting.
type faults struct {
	crashAfter, dropAfter time.Duration
	crashArmed, dropArmed bool
	holdOwnFile           bool
}

func readFaults(st *state) faults {
	var f faults
	f.crashAfter, f.crashArmed = st.seconds(knobCrashAfter)
	f.dropAfter, f.dropArmed = st.seconds(knobDropAfter)
	f.holdOwnFile = st.knobOn(knobHoldOwnFile)
	return f
}

// ownFile is a name go-fuse answers itself (its poll probe's), so holding
// it open touches no file of the disk.
const ownFile = ".go-fuse-epoll-hack"

// startFaults arms the knobs that act on a running mount.
func (srv *server) startFaults(f faults) {
	if f.holdOwnFile {
		// Never closed: killed, the kernel closes it on exit and sends
		// the flush to this very server, which is gone: the exit never
		// ends, and no pidfd reports it (see the launcher's stuckCheck).
		if _, err := syscall.Open(filepath.Join(srv.args.mountPoint, ownFile), syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err != nil {
			logf("error", "knob %s: %v", knobHoldOwnFile, err)
		} else {
			logf("warn", "holding a file of its own mount open (knob %s)", knobHoldOwnFile)
		}
	}
	if f.crashArmed {
		time.AfterFunc(f.crashAfter, func() {
			logf("warn", "crashing (knob %s), leaving a dead mount", knobCrashAfter)
			os.Exit(3)
		})
	}
	if f.dropArmed {
		time.AfterFunc(f.dropAfter, func() {
			srv.dropped.Store(true)
			logf("warn", "detaching the mount, staying alive (knob %s)", knobDropAfter)
			if err := syscall.Unmount(srv.args.mountPoint, syscall.MNT_DETACH); err != nil {
				logf("error", "detach: %v", err)
			}
		})
	}
}
