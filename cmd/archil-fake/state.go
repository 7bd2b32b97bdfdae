package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/archil-nix/archil-launch/internal/fakedisk"
)

// defaultStateDir is used when ARCHIL_FAKE_STATE is unset.
const defaultStateDir = "/var/lib/archil-fake"

// state is the fake's state directory.
type state struct {
	dir string
}

// openState creates the state directory if it is missing.
func openState() (*state, error) {
	dir := os.Getenv("ARCHIL_FAKE_STATE")
	if dir == "" {
		dir = defaultStateDir
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve state directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create state directory: %w", err)
	}
	return &state{dir: dir}, nil
}

func (s *state) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

// diskDirs returns the backing and cache directories of a disk, honouring
// a ":/sub/path" suffix. They are created if missing.
func (s *state) diskDirs(disk string) (backing, cache string, err error) {
	name, sub, _ := strings.Cut(disk, ":")
	sub = filepath.Clean("/" + sub)
	for _, seg := range strings.Split(disk, "/") {
		if seg == ".." {
			return "", "", fmt.Errorf("invalid disk %q: '..' segment", disk)
		}
	}
	key := fakedisk.Key(name)
	backing = s.path("backing", key, sub)
	cache = s.path("cache", key, sub)
	for _, d := range []string{backing, cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", fmt.Errorf("failed to create disk directory: %w", err)
		}
	}
	return backing, cache, nil
}

// ctlName is the control socket's file name for a mount point.
func ctlName(mountPoint string) string {
	sum := sha256.Sum256([]byte(mountPoint))
	return hex.EncodeToString(sum[:16]) + ".sock"
}
