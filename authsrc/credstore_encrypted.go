package authsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/archil-nix/archil-launch/internal/smallfile"
)

// DefaultEncryptedCredstoreDirs are systemd's encrypted credential stores.
var DefaultEncryptedCredstoreDirs = []string{"/run/credstore.encrypted", "/etc/credstore.encrypted"}

// EncryptedCredstore decrypts a credential made by `systemd-creds encrypt`
// with `systemd-creds decrypt --name=<id> FILE -`. The plaintext travels
// only over the pipe from systemd-creds to this process.
type EncryptedCredstore struct {
	Dirs         []string
	SystemdCreds string // path of systemd-creds; empty: looked up in PATH
}

func (EncryptedCredstore) Name() string { return "credstore-encrypted" }

func (c EncryptedCredstore) Places(id string) []string { return joinAll(c.Dirs, id) }

func (c EncryptedCredstore) Lookup(ctx context.Context, id string) (*Found, error) {
	for _, path := range c.Places(id) {
		found, err := c.decryptFile(ctx, id, path)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		return found, err
	}
	return nil, ErrNotFound
}

// decryptFile decrypts path, or returns ErrNotFound when it does not exist.
func (c EncryptedCredstore) decryptFile(ctx context.Context, id, path string) (*Found, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("failed to stat %s: %w", path, smallfile.Cause(err))
	}
	b, err := c.decrypt(ctx, id, path)
	if err != nil {
		return nil, err
	}
	return &Found{Value: b, Location: path}, nil
}

func (c EncryptedCredstore) decrypt(ctx context.Context, id, path string) ([]byte, error) {
	tool := c.SystemdCreds
	if tool == "" {
		var err error
		if tool, err = exec.LookPath("systemd-creds"); err != nil {
			return nil, fmt.Errorf("failed to decrypt %s: systemd-creds not found in PATH", path)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, "decrypt", "--name="+id, path, "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("failed to decrypt %s with systemd-creds: %w: %s", path, err, lastLine(stderr.String()))
	}
	if stdout.Len() > maxSecretBytes {
		return nil, fmt.Errorf("decrypted %s is larger than %d bytes", path, maxSecretBytes)
	}
	return stdout.Bytes(), nil
}

// lastLine keeps an error to one line: systemd-creds explains the failure in
// its last line of stderr.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
