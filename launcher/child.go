package launcher

import (
	"strconv"
	"strings"

	"github.com/archil-nix/archil-launch/launcher/config"
)

// mountArgs is the client's command line after the program name:
//
//	[--log-level L] mount <disk> <mountpoint> --no-fork --region <region>
//	[--shared] [--read-only] [--enable-xattrs] [--writeback-cache]
//	[--max-cache-mb N] [--target-cache-mb N] [extraArgs]
//
// Global flags go before the subcommand. --no-fork comes right after the
// positional arguments, before any flag that takes a value: a getopt-style
// parser gives a value flag the next argument whatever it is, so a bare
// `--region` in extraArgs would otherwise swallow it and the client would
// daemonize. extraArgs come last (each `--flag` or `--flag=value`, and none
// a flag the launcher sets); the token is never an argument.
func mountArgs(cfg *config.Config) []string {
	var args []string
	if cfg.LogLevel != "" {
		args = append(args, "--log-level", cfg.LogLevel)
	}
	args = append(args, "mount", cfg.DiskName, cfg.MountPoint, "--no-fork", "--region", cfg.Region)
	for _, f := range []struct {
		on   bool
		flag string
	}{
		{cfg.Shared, "--shared"},
		{cfg.ReadOnly, "--read-only"},
		{cfg.EnableXattrs, "--enable-xattrs"},
		{cfg.WritebackCache, "--writeback-cache"},
	} {
		if f.on {
			args = append(args, f.flag)
		}
	}
	if cfg.MaxCacheMB > 0 {
		args = append(args, "--max-cache-mb", strconv.Itoa(cfg.MaxCacheMB))
	}
	if cfg.TargetCacheMB > 0 {
		args = append(args, "--target-cache-mb", strconv.Itoa(cfg.TargetCacheMB))
	}
	return append(args, cfg.ExtraArgs...)
}

// unmountArgs is the command line of `archil unmount`.
func unmountArgs(cfg *config.Config) []string {
	var args []string
	if cfg.LogLevel != "" {
		args = append(args, "--log-level", cfg.LogLevel)
	}
	return append(args, "unmount", cfg.MountPoint)
}

// oneLine joins the client's last stderr lines for a one-line error,
// dropping control characters so the journal shows one record.
func oneLine(lines []string) string {
	clean := make([]string, 0, len(lines))
	for _, l := range lines {
		l = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, l)
		if l = strings.TrimSpace(l); l != "" {
			clean = append(clean, l)
		}
	}
	return strings.Join(clean, " | ")
}
