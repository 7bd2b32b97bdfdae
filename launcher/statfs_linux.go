package launcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// fuseSuperMagic is f_type of every FUSE filesystem; a statfs that returns
// anything else reached the directory under the mount, not the mount.
const fuseSuperMagic = 0x65735546

var errStatfsTimeout = errors.New("no answer in time")

// statfsWithin runs statfs(2) on path and waits at most d for it. A FUSE
// server that does not answer blocks the call, so it runs in its own
// goroutine; that goroutine returns once the mount answers or is detached.
// A done ctx ends the wait early with ctx.Err().
func statfsWithin(ctx context.Context, path string, d time.Duration) error {
	done := make(chan error, 1)
	go func() {
		defer recoverStop()
		var st unix.Statfs_t
		err := unix.Statfs(path, &st)
		if err == nil && st.Type != fuseSuperMagic {
			err = fmt.Errorf("not a FUSE filesystem (f_type %#x)", st.Type)
		}
		done <- err
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("failed to statfs %s: %w", path, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("failed to statfs %s: %w", path, errStatfsTimeout)
	}
}
