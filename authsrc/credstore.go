package authsrc

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

// DefaultCredstoreDirs are systemd's plain credential stores, searched in
// this order by ImportCredential= too.
var DefaultCredstoreDirs = []string{"/run/credstore", "/etc/credstore"}

// Credstore reads a plain credential file from the first directory that has
// it. It serves a launcher run outside a unit (--check); inside one,
// ImportCredential= already copied the file into the credentials directory.
type Credstore struct {
	Dirs []string
}

func (Credstore) Name() string { return "credstore" }

func (c Credstore) Places(id string) []string { return joinAll(c.Dirs, id) }

func (c Credstore) Lookup(_ context.Context, id string) (*Found, error) {
	for _, path := range c.Places(id) {
		b, info, err := readSecretFile(path)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found := &Found{Value: b, Location: path}
		if perm := info.Mode().Perm(); perm&0o044 != 0 {
			found.Warnings = append(found.Warnings,
				fmt.Sprintf("%s is readable by group or others (mode %04o); make it 0400 or 0600", path, perm))
		}
		return found, nil
	}
	return nil, ErrNotFound
}

func joinAll(dirs []string, id string) []string {
	paths := make([]string, len(dirs))
	for i, d := range dirs {
		paths[i] = filepath.Join(d, id)
	}
	return paths
}
