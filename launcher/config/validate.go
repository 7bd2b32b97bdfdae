package config

import (
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/archil-nix/archil-launch/internal/smallfile"
)

// Limits.
const (
	maxDiskNameBytes   = 1024
	maxMountPointBytes = 4095 // PATH_MAX less the terminating NUL
	maxComponentBytes  = 255  // NAME_MAX: mkdir refuses a longer name
	maxTimeoutSec      = 86400
)

// logLevels are the client's --log-level values.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// forbiddenPrefixes are system trees a mount must never cover.
var forbiddenPrefixes = []string{
	"/nix", "/proc", "/sys", "/dev", "/boot", "/etc", "/usr", "/bin",
	"/sbin", "/lib", "/lib64", "/run/credentials",
}

// forbiddenArgs are client flags extraArgs must not hold: a token on the
// command line, daemonizing away from the supervisor, revoking other
// clients' delegations, "--", which would turn what follows into
// positional arguments, and every flag a typed field sets (given twice, a
// client takes one of them; which one is not ours to guess).
var forbiddenArgs = map[string]string{
	"--auth-token":      "puts the token on the command line; the launcher passes it in ARCHIL_MOUNT_TOKEN",
	"--no-fork":         "is added by the launcher",
	"--force":           "revokes other clients' delegations and can lose their writes",
	"-f":                "revokes other clients' delegations and can lose their writes",
	"--":                "would end the option list",
	"--region":          typedFlag("region"),
	"--shared":          typedFlag("shared"),
	"--read-only":       typedFlag("readOnly"),
	"--enable-xattrs":   typedFlag("enableXattrs"),
	"--writeback-cache": typedFlag("writebackCache"),
	"--max-cache-mb":    typedFlag("maxCacheMB"),
	"--target-cache-mb": typedFlag("targetCacheMB"),
	"--log-level":       typedFlag("logLevel"),
}

func typedFlag(field string) string { return "is set by the " + field + " field; use that instead" }

// reservedEnv are variables passEnv must not name: the token, and what
// systemd gives the launcher alone.
var reservedEnv = []string{"ARCHIL_MOUNT_TOKEN", "NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY", "LISTEN_*", "WATCHDOG_*"}

func (r *rawConfig) validate(checkClient bool) (*Config, error) {
	c := &Config{
		Credential:   DefaultCredential,
		ReadyTimeout: defaultReadyTimeoutSec * time.Second,
		StopTimeout:  defaultStopTimeoutSec * time.Second,
		IMDSTimeout:  defaultIMDSTimeoutSec * time.Second,
		ExtraArgs:    r.ExtraArgs,
		PassEnv:      r.PassEnv,
	}
	for _, req := range []struct {
		key string
		val *string
		dst *string
	}{
		{"name", r.Name, &c.Name},
		{"diskName", r.DiskName, &c.DiskName},
		{"mountPoint", r.MountPoint, &c.MountPoint},
		{"region", r.Region, &c.Region},
		{"authMethod", r.AuthMethod, &c.AuthMethod},
		{"archil", r.Archil, &c.Archil},
	} {
		if req.val == nil {
			return nil, fieldError(req.key, "is required")
		}
		*req.dst = *req.val
	}
	checks := []func() error{
		func() error { return checkName(c.Name) },
		func() error { return checkDiskName(c.DiskName) },
		func() error { return checkMountPoint(c.MountPoint) },
		func() error { return checkRegion(c.Region) },
		func() error { return checkAuthMethod(c.AuthMethod) },
		func() error {
			if !checkClient {
				return checkAbsolute("archil", c.Archil)
			}
			return CheckClient(c.Archil)
		},
		func() error { return r.copyOptional(c) },
		func() error { return checkExtraArgs(c.ExtraArgs) },
		func() error { return checkPassEnv(c.PassEnv) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// copyOptional validates and copies the optional fields.
func (r *rawConfig) copyOptional(c *Config) error {
	if r.Credential != nil {
		if !validCredential(*r.Credential) {
			return fieldError("credential", "must match [A-Za-z0-9_.-]{1,255} and not start with '.': %q", *r.Credential)
		}
		c.Credential = *r.Credential
	}
	for _, b := range []struct {
		val *bool
		dst *bool
	}{{r.ReadOnly, &c.ReadOnly}, {r.Shared, &c.Shared}, {r.EnableXattrs, &c.EnableXattrs}, {r.WritebackCache, &c.WritebackCache}} {
		if b.val != nil {
			*b.dst = *b.val
		}
	}
	if r.LogLevel != nil {
		if !slices.Contains(logLevels, *r.LogLevel) {
			return fieldError("logLevel", "must be one of %s: %q", strings.Join(logLevels, ", "), *r.LogLevel)
		}
		c.LogLevel = *r.LogLevel
	}
	for _, n := range []struct {
		key string
		val *int64
		dst *int
	}{{"maxCacheMB", r.MaxCacheMB, &c.MaxCacheMB}, {"targetCacheMB", r.TargetCacheMB, &c.TargetCacheMB}} {
		if n.val == nil {
			continue
		}
		if *n.val <= 0 {
			return fieldError(n.key, "must be a positive integer: %d", *n.val)
		}
		if *n.val > 1<<40 {
			return fieldError(n.key, "must be at most %d: %d", int64(1<<40), *n.val)
		}
		*n.dst = int(*n.val)
	}
	if c.MaxCacheMB > 0 && c.TargetCacheMB > c.MaxCacheMB {
		return fieldError("targetCacheMB", "must not exceed maxCacheMB (%d > %d)", c.TargetCacheMB, c.MaxCacheMB)
	}
	for _, t := range []struct {
		key string
		val *int64
		dst *time.Duration
	}{
		{"readyTimeoutSec", r.ReadyTimeoutSec, &c.ReadyTimeout},
		{"stopTimeoutSec", r.StopTimeoutSec, &c.StopTimeout},
		{"imdsTimeoutSec", r.IMDSTimeoutSec, &c.IMDSTimeout},
	} {
		if t.val == nil {
			continue
		}
		if *t.val <= 0 || *t.val > maxTimeoutSec {
			return fieldError(t.key, "must be between 1 and %d seconds: %d", maxTimeoutSec, *t.val)
		}
		*t.dst = time.Duration(*t.val) * time.Second
	}
	return nil
}

func checkName(name string) error {
	if !validName(name) {
		return fieldError("name", "must be 1 to 64 of [A-Za-z0-9_-]: %q", name)
	}
	return nil
}

// checkText applies what every name and path field shares: not empty, not
// longer than max bytes, no control characters.
func checkText(field, s string, max int) error {
	switch {
	case s == "":
		return fieldError(field, "must not be empty")
	case len(s) > max:
		return fieldError(field, "is longer than %d bytes", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fieldError(field, "must not contain control characters: %q", s)
	}
	return nil
}

// checkDiskName applies the diskName rules: owner/name, user@domain/name
// or dsk-<16 hex digits>, optionally followed by :/path.
func checkDiskName(disk string) error {
	const field = "diskName"
	if err := checkText(field, disk, maxDiskNameBytes); err != nil {
		return err
	}
	if strings.IndexFunc(disk, unicode.IsSpace) >= 0 {
		return fieldError(field, "must not contain whitespace: %q", disk)
	}
	disk, sub, hasSub := strings.Cut(disk, ":")
	if hasSub {
		if !strings.HasPrefix(sub, "/") {
			return fieldError(field, "subdirectory must start with '/' after ':': %q", sub)
		}
		for _, seg := range strings.Split(sub[1:], "/") {
			if seg == "." || seg == ".." || (seg == "" && sub != "/") {
				return fieldError(field, "subdirectory must not contain empty, '.' or '..' segments: %q", sub)
			}
		}
	}
	if strings.HasPrefix(disk, "dsk-") && !strings.Contains(disk, "/") {
		if !validDiskID(disk) {
			return fieldError(field, "disk id must be dsk- and 16 lowercase hex digits: %q", disk)
		}
		return nil
	}
	owner, name, ok := strings.Cut(disk, "/")
	if !ok || strings.Contains(name, "/") {
		return fieldError(field, "must be owner/name, user@domain/name or dsk-<16 hex digits>: %q", disk)
	}
	if name == ".." || name == "." || owner == ".." || owner == "." {
		return fieldError(field, "must not contain '.' or '..' segments: %q", disk)
	}
	if !validDiskPart(owner) && !validEmailOwner(owner) {
		return fieldError(field, "owner must start with a letter or digit and hold only [A-Za-z0-9._-] (or be user@domain): %q", owner)
	}
	if !validDiskPart(name) {
		return fieldError(field, "disk name must start with a letter or digit and hold only [A-Za-z0-9._-]: %q", name)
	}
	return nil
}

// checkMountPoint applies the mountPoint rules. The launcher only ever
// unmounts at a path that passed them.
func checkMountPoint(mp string) error {
	const field = "mountPoint"
	if err := checkText(field, mp, maxMountPointBytes); err != nil {
		return err
	}
	switch {
	case !strings.HasPrefix(mp, "/"):
		return fieldError(field, "must be absolute: %q", mp)
	case mp == "/":
		return fieldError(field, "must not be /")
	case path.Clean(mp) != mp:
		return fieldError(field, "must be normalized (no //, ., .. or trailing /): %q", mp)
	}
	for _, p := range forbiddenPrefixes {
		if mp == p || strings.HasPrefix(mp, p+"/") {
			return fieldError(field, "must not be at or under %s: %q", p, mp)
		}
	}
	for _, c := range strings.Split(mp, "/") {
		if len(c) > maxComponentBytes {
			return fieldError(field, "has a component longer than %d bytes", maxComponentBytes)
		}
	}
	return nil
}

func checkRegion(region string) error {
	if !validRegion(region) {
		return fieldError("region", "must be a lowercase provider-region name like aws-us-east-1: %q", region)
	}
	return nil
}

func checkAuthMethod(m string) error {
	if m != AuthToken && m != AuthIAM {
		return fieldError("authMethod", "must be %q or %q: %q", AuthToken, AuthIAM, m)
	}
	return nil
}

func checkAbsolute(field, p string) error {
	if !path.IsAbs(p) {
		return fieldError(field, "must be an absolute path: %q", p)
	}
	return nil
}

// CheckClient reports whether p, the archil field, names an executable
// regular file.
func CheckClient(p string) error {
	const field = "archil"
	if err := checkAbsolute(field, p); err != nil {
		return err
	}
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return fieldError(field, "cannot use %q: %v", p, smallfile.Cause(err))
	case !fi.Mode().IsRegular():
		return fieldError(field, "must be a regular file: %q", p)
	case fi.Mode().Perm()&0o111 == 0:
		return fieldError(field, "must be executable: %q", p)
	}
	return nil
}

// checkExtraArgs applies the extraArgs rules. Each element is one flag,
// "--flag" or "--flag=value": a value as an element of its own could be
// taken for a flag, and a bare value flag, were it not last, would take the
// next argument as its value. No flag twice.
func checkExtraArgs(args []string) error {
	seen := map[string]bool{}
	for i, a := range args {
		flag, _, _ := strings.Cut(a, "=")
		if why, bad := forbiddenArgs[flag]; bad {
			return fieldError("extraArgs", "%s is not allowed: it %s", flag, why)
		}
		if !strings.HasPrefix(a, "--") {
			return fieldError("extraArgs", "element %d must start with -- (use --flag=value): %q", i, a)
		}
		if strings.IndexFunc(a, unicode.IsControl) >= 0 {
			return fieldError("extraArgs", "element %d must not contain control characters: %q", i, a)
		}
		if seen[flag] {
			return fieldError("extraArgs", "%s is given twice (element %d)", flag, i)
		}
		seen[flag] = true
	}
	return nil
}

func checkPassEnv(names []string) error {
	for _, n := range names {
		if !validEnvName(n) {
			return fieldError("passEnv", "not a variable name: %q", n)
		}
		for _, r := range reservedEnv {
			if n == r || (strings.HasSuffix(r, "*") && strings.HasPrefix(n, strings.TrimSuffix(r, "*"))) {
				return fieldError("passEnv", "%s must not be passed to the client", n)
			}
		}
	}
	return nil
}
