// Package config reads one mount's JSON config (no secrets in it) and
// validates every field by the rules of DESIGN.md, "Mount config": strict
// decoding (exact keys, no duplicates, no null, no trailing data, valid
// UTF-8) and one rule per field, each failure a one-line *Error naming the
// field. No process, no mount: it reads the file and looks at the client
// binary, nothing else.
package config

import (
	"fmt"
	"time"

	"github.com/archil-nix/archil-launch/internal/smallfile"
)

// Config is one mount, as read from its JSON file. It holds no secret.
type Config struct {
	Name       string // unit instance name, [A-Za-z0-9_-]{1,64}
	DiskName   string // owner/name, user@domain/name or dsk-<16 hex>, optional :/path
	MountPoint string // absolute, normalized, outside system directories
	Region     string
	AuthMethod string // AuthToken or AuthIAM
	Archil     string // absolute path of the client binary
	Credential string // systemd credential id holding the token

	ReadOnly       bool // --read-only, and the per-mount read-only flag
	Shared         bool
	EnableXattrs   bool // --enable-xattrs (0.8 clients: xattrs are off without it)
	WritebackCache bool // --writeback-cache
	MaxCacheMB     int  // 0: not set
	TargetCacheMB  int  // 0: not set
	LogLevel       string
	ExtraArgs      []string
	PassEnv        []string

	ReadyTimeout time.Duration
	StopTimeout  time.Duration
	IMDSTimeout  time.Duration
}

// Authentication methods.
const (
	AuthToken = "token"
	AuthIAM   = "iam"
)

// Defaults for optional fields.
const (
	DefaultCredential      = "archil-token"
	defaultReadyTimeoutSec = 30
	defaultStopTimeoutSec  = 60
	defaultIMDSTimeoutSec  = 1
)

// maxConfigBytes bounds what Load reads: a mount config is a few
// hundred bytes, and a 4 KiB mount point is the largest legal field.
const maxConfigBytes = 64 << 10

// Error is a problem with one field of a mount config. Its text
// names the field and the problem, never a secret (configs hold none).
type Error struct {
	Field   string // JSON key, empty for the document as a whole
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "config: " + e.Problem
	}
	return "config " + e.Field + ": " + e.Problem
}

func fieldError(field, format string, args ...any) *Error {
	return &Error{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Load reads and validates the mount config at path.
func Load(path string) (*Config, error) { return load(path, true) }

// LoadWithoutClient is Load without the check that the client binary
// exists and is executable: --check reports that on its own line, so that a
// missing client does not hide the other findings. CheckClient is that
// check.
func LoadWithoutClient(path string) (*Config, error) { return load(path, false) }

func load(path string, checkClient bool) (*Config, error) {
	data, _, err := smallfile.Read(path, maxConfigBytes)
	if err != nil {
		return nil, &Error{Problem: fmt.Sprintf("cannot read %q: %v", path, smallfile.Cause(err))}
	}
	raw, err := decodeStrict(data)
	if err != nil {
		return nil, err
	}
	return raw.validate(checkClient)
}
