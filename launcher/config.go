package launcher

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

	ReadOnly      bool
	Shared        bool
	MaxCacheMB    int // 0: not set
	TargetCacheMB int // 0: not set
	LogLevel      string
	ExtraArgs     []string
	PassEnv       []string

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

// maxConfigBytes bounds what LoadConfig reads: a mount config is a few
// hundred bytes, and a 4 KiB mount point is the largest legal field.
const maxConfigBytes = 64 << 10

// ConfigError is a problem with one field of a mount config. Its text
// names the field and the problem, never a secret (configs hold none).
type ConfigError struct {
	Field   string // JSON key, empty for the document as a whole
	Problem string
}

func (e *ConfigError) Error() string {
	if e.Field == "" {
		return "config: " + e.Problem
	}
	return "config " + e.Field + ": " + e.Problem
}

func fieldError(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// LoadConfig reads and validates the mount config at path.
func LoadConfig(path string) (*Config, error) { return loadConfig(path, true) }

// loadConfig reads the config at path; checkClient false skips the check
// that the client binary exists, which --check reports on its own.
func loadConfig(path string, checkClient bool) (*Config, error) {
	data, _, err := smallfile.Read(path, maxConfigBytes)
	if err != nil {
		return nil, &ConfigError{Problem: fmt.Sprintf("cannot read %q: %v", path, smallfile.Cause(err))}
	}
	return parseConfig(data, checkClient)
}

// ParseConfig decodes and validates one mount config.
func ParseConfig(data []byte) (*Config, error) { return parseConfig(data, true) }

func parseConfig(data []byte, checkClient bool) (*Config, error) {
	raw, err := decodeStrict(data)
	if err != nil {
		return nil, err
	}
	return raw.validate(checkClient)
}
