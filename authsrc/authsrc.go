// Package authsrc reads a secret from one place: the systemd credentials
// directory, the plain or encrypted credstore, or (for IAM) asks the EC2
// instance metadata service which role the instance has. Each source is one
// file. A source that does not hold the credential returns ErrNotFound so
// the caller can try the next; any other error means the place exists but
// is unusable. Nothing here knows about mounts, and no error carries a
// secret's value.
package authsrc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/archil-nix/archil-launch/internal/smallfile"
)

// ErrNotFound means the source does not have the credential.
var ErrNotFound = errors.New("not found")

// maxSecretBytes bounds what a source reads; real tokens are far smaller.
const maxSecretBytes = 64 << 10

// Found is a secret value and where it was read.
type Found struct {
	Value    []byte
	Location string   // the file read
	Warnings []string // e.g. loose permissions
}

// Source is one place a credential id can be looked up.
type Source interface {
	// Name says what kind of place this is, e.g. "credstore".
	Name() string
	// Places lists where Lookup looks for id, for a miss report.
	Places(id string) []string
	// Lookup returns the credential, ErrNotFound, or why the place is unusable.
	Lookup(ctx context.Context, id string) (*Found, error)
}

// readSecretFile reads a credential file. A missing file is ErrNotFound;
// anything else that stops the read is an error naming the path.
func readSecretFile(path string) ([]byte, fs.FileInfo, error) {
	b, info, err := smallfile.Read(path, maxSecretBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, ErrNotFound
	case err != nil:
		return nil, nil, fmt.Errorf("failed to read %s: %w", path, smallfile.Cause(err))
	}
	return b, info, nil
}
