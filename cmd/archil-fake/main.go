// Command archil-fake is the test double of the proprietary archil client.
//
// It speaks the client's command line (see /work/shared/archil-cli.md),
// as a 0.8 client or, with the old-client knob, as one from before 0.8,
// makes a real FUSE mount (a go-fuse loopback over a local cache
// directory), keeps a local "object storage" directory as the truth, and
// flushes writes to it either at close or after a configurable delay.
// `archil-fake unmount` flushes everything before it unmounts; a plain
// umount or SIGTERM does not, so tests can tell the two apart.
//
// Everything it keeps lives in the state directory, $ARCHIL_FAKE_STATE
// (default /var/lib/archil-fake):
//
//	backing/<disk>/   object storage, the truth
//	cache/<disk>/     what every FUSE mount of the disk serves
//	ctl/<hash>.sock   control socket of the server of one mount point
//	disks/<disk>/     who uses a disk: delegation lease, cache users (see disk.go)
//	knobs/<name>      fault knobs (see knobs.go)
//	calls.log         one JSON line per invocation (see calllog.go)
//	expect-token      the token a mount must present, if any
//	attempts          mount attempts counted while fail-first is set
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// Log levels, most verbose first.
var levels = []string{"trace", "debug", "info", "warn", "error"}

// logLevel is the index in levels of the least severe level printed.
var logLevel = 2

// logOut is where events go: stderr, or the log file of a daemon.
var logOut io.Writer = os.Stderr

// logf writes one event line if level is enabled.
func logf(level string, format string, args ...any) {
	for i, l := range levels {
		if l == level && i < logLevel {
			return
		}
	}
	fmt.Fprintf(logOut, "%s archil-fake[%d]: %s: %s\n",
		time.Now().UTC().Format("15:04:05.000"), os.Getpid(), level, fmt.Sprintf(format, args...))
}

// usageError is a command line the client does not accept. Like clap, the
// client says so on stderr with a hint and exits 1 (archil-cli.md: errors
// exit 1), at once: a launcher must see it fail, never hang.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

const usage = `usage: archil-fake [-q|-v] [--log-level trace|debug|info|warn|error] <subcommand> ...

  archil-fake mount <DISK> <MOUNTPOINT> --region <REGION> [--no-fork]
      [--shared] [--read-only] [--force] [--enable-xattrs] [--writeback-cache]
      [--log-metrics] [--max-cache-mb N] [--target-cache-mb N]
      [--dentry-ttl-secs N] [--statistics] [--log-dir DIR] [--max-log-size-mb N] ...
  archil-fake unmount [-f|--force] <MOUNTPOINT>
  archil-fake status <MOUNTPOINT> [--json]
  archil-fake metrics <MOUNTPOINT> [--json] [--reset]
  archil-fake version [--json]
  archil-fake --version

Before 0.8 (knob old-client): no -q/-v, --read-only, --enable-xattrs,
--writeback-cache, --log-metrics, ..., status, metrics, version, unmount -f;
--disable-xattrs instead of --enable-xattrs.
`

func main() {
	os.Exit(run(os.Args[1:]))
}

// run dispatches and turns the outcome into stderr and an exit status.
func run(args []string) int {
	if isDaemonChild() {
		syscall.CloseOnExec(readyFD)
	}
	err := dispatch(args)
	signalReady(err) // a daemon child that failed before mounting
	if err == nil {
		return 0
	}
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	if errors.As(err, new(*usageError)) {
		fmt.Fprint(os.Stderr, "\nFor more information, try '--help'.\n")
	}
	return 1
}

// subcommand is one the client knows, and which generations know it.
type subcommand struct {
	gens gen
	run  func(st *state, g gen, args []string) error
}

var subcommands = map[string]subcommand{
	"mount":   {genAll, runMount},
	"unmount": {genAll, runUnmount},
	"version": {gen08, runVersion},
	"status":  {gen08, runStatus},
	"metrics": {gen08, runMetrics},
}

// dispatch records the call, parses the global flags and runs the
// subcommand.
func dispatch(args []string) error {
	st, err := openState()
	if err != nil {
		return err
	}
	if !isDaemonChild() {
		if err := st.recordCall(os.Args); err != nil {
			return err
		}
	}
	g := st.generation()
	p, err := parseGlobal(globalFlags, g, args)
	if err != nil {
		return err
	}
	switch {
	case p.on("help"):
		fmt.Print(usage)
		return nil
	case p.on("version"):
		if err := st.probeFaults("version"); err != nil {
			return err
		}
		fmt.Println("archil-fake " + g.version())
		return nil
	}
	if v, ok := p.vals["log-level"]; ok {
		if err := setLogLevel(v); err != nil {
			return err
		}
	}
	switch v := p.sets["verbose"]; {
	case v > 1:
		logLevel = 0
	case v == 1:
		logLevel = 1
	case p.on("quiet"):
		logLevel = len(levels) - 1
	}
	if len(p.pos) == 0 {
		return usageErr("'archil' requires a subcommand but one was not provided")
	}
	sub, ok := subcommands[p.pos[0]]
	if !ok || sub.gens&g == 0 {
		return usageErr("unrecognized subcommand '%s'", p.pos[0])
	}
	return sub.run(st, g, p.pos[1:])
}

func setLogLevel(v string) error {
	for i, l := range levels {
		if l == v {
			logLevel = i
			return nil
		}
	}
	return usageErr("invalid value '%s' for '--log-level <LEVEL>'", v)
}
