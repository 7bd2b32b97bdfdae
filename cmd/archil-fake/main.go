// Command archil-fake is the test double of the proprietary archil client.
//
// It speaks the client's command line (see /work/shared/archil-cli.md),
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
//	cache/<disk>/     what the FUSE mount serves
//	ctl/<hash>.sock   control socket of the server of one mount point
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
	"strings"
	"syscall"
	"time"
)

const version = "archil-fake 0.0.0-test"

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

// exitError is an error with the exit status it should produce.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr is an error that exits with status 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

const usage = `usage: archil-fake [--log-level trace|debug|info|warn|error] <subcommand> ...

  archil-fake mount <DISK> <MOUNTPOINT> --region <REGION> [--shared]
      [--max-cache-mb N] [--target-cache-mb N] [--disable-xattrs]
      [--statistics] [--log-dir DIR] [--max-log-size-mb N] [--no-fork]
  archil-fake unmount <MOUNTPOINT>
  archil-fake --version
`

func main() {
	os.Exit(run(os.Args[1:]))
}

// run parses the global flags, records the call and dispatches.
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
	var e *exitError
	if errors.As(err, &e) {
		if e.code == 2 {
			fmt.Fprint(os.Stderr, usage)
		}
		return e.code
	}
	return 1
}

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
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		arg := args[0]
		args = args[1:]
		switch {
		case arg == "--version" || arg == "-V":
			fmt.Println(version)
			return nil
		case arg == "--help" || arg == "-h":
			fmt.Print(usage)
			return nil
		case arg == "--log-level" || strings.HasPrefix(arg, "--log-level="):
			v, ok := strings.CutPrefix(arg, "--log-level=")
			if !ok {
				if len(args) == 0 {
					return usageErr("--log-level needs a value")
				}
				v, args = args[0], args[1:]
			}
			if err := setLogLevel(v); err != nil {
				return err
			}
		default:
			return usageErr("unknown global flag %q", arg)
		}
	}
	if len(args) == 0 {
		return usageErr("missing subcommand")
	}
	switch args[0] {
	case "mount":
		return runMount(st, args[1:])
	case "unmount":
		return runUnmount(st, args[1:])
	default:
		return usageErr("unknown subcommand %q", args[0])
	}
}

func setLogLevel(v string) error {
	for i, l := range levels {
		if l == v {
			logLevel = i
			return nil
		}
	}
	return usageErr("unknown log level %q", v)
}
