package launcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/archil-nix/archil-launch/internal/bounded"
	"golang.org/x/sys/unix"
)

// fuseSuperMagic is f_type of every FUSE filesystem; a statfs that returns
// anything else reached the directory under the mount, not the mount.
const fuseSuperMagic = 0x65735546

// errStatfsTimeout is a statfs that did not answer in time.
var errStatfsTimeout = bounded.ErrTimeout

// statfsWithin runs statfs(2) on path and waits at most d for it (a FUSE
// server that does not answer blocks the call; see package bounded). A
// done ctx ends the wait early with ctx.Err().
func statfsWithin(ctx context.Context, path string, d time.Duration) error {
	_, err := bounded.DoContext(ctx, d, func() (struct{}, error) {
		var st unix.Statfs_t
		err := unix.Statfs(path, &st)
		if err == nil && st.Type != fuseSuperMagic {
			err = fmt.Errorf("not a FUSE filesystem (f_type %#x)", st.Type)
		}
		return struct{}{}, err
	}, nil)
	if err != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("failed to statfs %s: %w", path, err)
	}
	return err
}
