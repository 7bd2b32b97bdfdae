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
	"io"
	"io/fs"
	"os"
	"syscall"
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
	// O_NONBLOCK: opening a FIFO planted where a credential should be
	// must not hang the launcher; the regular-file check below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("failed to open %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to stat %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read %s: %w", path, errors.Unwrap(err))
	}
	if len(b) > maxSecretBytes {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes", path, maxSecretBytes)
	}
	return b, info, nil
}
