package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fault knobs. Each is the file $STATE/knobs/<name> (its content is the
// value, surrounding whitespace ignored) or the environment variable
// ARCHIL_FAKE_<NAME> (upper case, '-' as '_'), which wins over the file
// when set. Every invocation reads them afresh, a mount all of them before
// it mounts. A flag knob is on when present, unless its value is "0",
// "false", "no" or "off".
const (
	knobMountDelay    = "mount-delay"    // seconds to wait before mounting
	knobCrashAfter    = "crash-after"    // seconds after mount: exit 3, leave a dead mount
	knobDropAfter     = "drop-after"     // seconds after mount: lazy detach, keep running
	knobUnmountHang   = "unmount-hang"   // flag: `unmount` never returns
	knobUnmountLag    = "unmount-lag"    // seconds: `unmount` returns after the flush, the mount leaves that much later
	knobIgnoreSigterm = "ignore-sigterm" // flag: server ignores SIGTERM and SIGINT
	knobFailMount     = "fail-mount"     // flag: every mount fails
	knobFailFirst     = "fail-first"     // N: the first N mounts fail
	knobFlushDelay    = "flush-delay"    // seconds before a write reaches backing
	knobIAMSkip       = "iam-skip"       // flag: no IMDS probe in IAM mode
	knobHoldOwnFile   = "hold-own-file"  // flag: keep a file of its own mount open; killed, the server hangs in the kernel

	knobOldClient        = "old-client"        // flag: a client from before 0.8 (see flags.go)
	knobDelegationTTL    = "delegation-ttl"    // seconds a dead client's delegation stays held (default defaultDelegationTTL)
	knobDelegationStrict = "delegation-strict" // flag: a client at the holder's own mount point is refused too (see lease.go)
	knobIgnoreReadOnly   = "ignore-read-only"  // flag: accept --read-only, then mount read-write and take the delegation
)

// Probe knobs: "<subcommand>-hang" makes that subcommand sleep until it is
// killed, "<subcommand>-fail" makes it fail (exit 1), for version (and the
// --version flag), status and metrics: what a launcher's bounded probes
// must survive. They act before the subcommand parses its arguments.
const (
	hangSuffix = "-hang"
	failSuffix = "-fail"
)

// probeFaults applies the probe knobs of subcommand sub.
func (s *state) probeFaults(sub string) error {
	if s.knobOn(sub + hangSuffix) {
		logf("warn", "%s hangs until killed (knob %s)", sub, sub+hangSuffix)
		hang()
	}
	if s.knobOn(sub + failSuffix) {
		return fmt.Errorf("%s failed: simulated failure (knob %s)", sub, sub+failSuffix)
	}
	return nil
}

// knob returns a knob's value and whether it is set.
func (s *state) knob(name string) (string, bool) {
	env := "ARCHIL_FAKE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v, ok := os.LookupEnv(env); ok {
		return strings.TrimSpace(v), true
	}
	b, err := os.ReadFile(s.path("knobs", name))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// knobOn reports whether a flag knob is on.
func (s *state) knobOn(name string) bool {
	v, ok := s.knob(name)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "0", "false", "no", "off":
		return false
	}
	return true
}

// knobSeconds returns a duration knob given in (fractional) seconds.
func (s *state) knobSeconds(name string) (time.Duration, bool, error) {
	v, ok := s.knob(name)
	if !ok || v == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, false, fmt.Errorf("knob %s: not a number of seconds: %q", name, v)
	}
	return time.Duration(f * float64(time.Second)), true, nil
}

// failFirst counts this mount attempt in $STATE/attempts while the
// fail-first knob is set and reports whether it must fail.
func (s *state) failFirst() (bool, error) {
	v, ok := s.knob(knobFailFirst)
	if !ok {
		return false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return false, fmt.Errorf("knob %s: not an integer: %q", knobFailFirst, v)
	}
	f, err := os.OpenFile(s.path("attempts"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, fmt.Errorf("failed to open attempts counter: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("failed to lock attempts counter: %w", err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("failed to read attempts counter: %w", err)
	}
	count, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	count++
	if err := f.Truncate(0); err != nil {
		return false, fmt.Errorf("failed to write attempts counter: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(count)+"\n"), 0); err != nil {
		return false, fmt.Errorf("failed to write attempts counter: %w", err)
	}
	return count <= n, nil
}

// hang sleeps until the process is killed. (A bare select{} would be
// reported as a deadlock by the runtime.)
func hang() {
	for {
		time.Sleep(time.Hour)
	}
}
