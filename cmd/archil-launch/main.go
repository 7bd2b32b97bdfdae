// Command archil-launch runs one Archil mount as a systemd service, or
// checks the mounts of this host.
//
//	archil-launch --config FILE                     run one mount (a unit's ExecStart)
//	archil-launch --config FILE --stop              the unit's stop hook (ExecStopPost)
//	archil-launch --check [--config FILE]... [--json]
//	archil-launch --version
//
// The runtime is told not to look at the cgroup's CPU quota again every
// second to resize GOMAXPROCS: the launcher sits idle for days, waiting
// on its mount's events, and needs no timer of the runtime's waking it.
//
//go:debug updatemaxprocs=0
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/logsink"
	"github.com/archil-nix/archil-launch/launcher"
	"github.com/archil-nix/archil-launch/launcher/check"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// version is set by the build (-ldflags -X main.version=...); without it,
// the module version `go install ...@vX` recorded, else "devel".
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

// Exit statuses of --check and of usage errors; a run exits with
// launcher.ExitCode of its result.
const (
	exitOK      = 0
	exitProblem = 1
	exitUsage   = 2
)

const usage = `Usage:
    archil-launch --config FILE
    archil-launch --config FILE --stop
    archil-launch --check [--config FILE]... [--json]
    archil-launch --version

--config FILE runs the mount FILE describes until SIGTERM: the unit's
ExecStart. With --stop it is the unit's ExecStopPost: when the launcher
died and left its mount served, it flushes and unmounts it and ends what
is left of the unit. --check reports what is wrong with each mount (all of
/etc/archil/mounts.d/*.json without --config) and changes nothing;
it exits 0 when all is well and 1 when it found a problem.
`

type configList []string

func (c *configList) String() string     { return fmt.Sprint(*c) }
func (c *configList) Set(v string) error { *c = append(*c, v); return nil }

func main() {
	// Every line goes through a logsink.Writer: a log stream that fails or
	// stalls never stops the launcher. Flushed, boundedly, before the exit.
	code := run(os.Args[1:], os.Stdout, logsink.Stderr())
	logsink.Stderr().Flush(2 * time.Second)
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("archil-launch", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	var configs configList
	flags.Var(&configs, "config", "mount config `FILE` (repeatable with --check)")
	check := flags.Bool("check", false, "check the mounts and change nothing")
	stopHook := flags.Bool("stop", false, "with --config: the unit's stop hook")
	asJSON := flags.Bool("json", false, "with --check: print one JSON object")
	showVersion := flags.Bool("version", false, "print the version")
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		return usageError(stderr, err.Error())
	}
	switch {
	case flags.NArg() > 0:
		return usageError(stderr, fmt.Sprintf("unexpected argument %q", flags.Arg(0)))
	case *showVersion && (*check || *asJSON || *stopHook || len(configs) > 0):
		return usageError(stderr, "--version takes no other flag")
	case *stopHook && (*check || *asJSON):
		return usageError(stderr, "--stop goes with --config only")
	case *showVersion:
		fmt.Fprintln(stdout, "archil-launch", versionString())
		return exitOK
	case *check:
		return runCheck(configs, *asJSON, stdout, stderr)
	case *asJSON:
		return usageError(stderr, "--json needs --check")
	case len(configs) != 1:
		return usageError(stderr, "--config FILE is required exactly once (or use --check)")
	case *stopHook:
		return runStopHook(configs[0], stderr)
	}
	return runMount(configs[0], stderr)
}

func runCheck(configs []string, asJSON bool, stdout, stderr io.Writer) int {
	// It reads every token (to report its length): no core dump of it.
	protectMemory(logline.New(stderr, "archil-launch --check", slog.LevelWarn))
	report := (&check.Checker{}).Check(context.Background(), configs)
	write := report.WriteTable
	if asJSON {
		write = report.WriteJSON
	}
	if err := write(stdout); err != nil {
		return fail(stderr, err)
	}
	if !report.OK {
		return exitProblem
	}
	return exitOK
}

func runMount(path string, stderr io.Writer) int {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	// launcher.Run calls catch where a stop must be caught (see there);
	// before, SIGTERM ends the launcher by default action.
	catch := sync.OnceFunc(func() {
		ignorePipe()
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		// SIGHUP too: a terminal that hangs up on a hand-run launcher gets
		// the same flushing stop as SIGTERM, not a dead mount; unless it
		// was ignored (nohup), which Notify would undo.
		if !signal.Ignored(syscall.SIGHUP) {
			signal.Notify(sigs, syscall.SIGHUP)
		}
		go func() {
			<-sigs
			stop()
		}()
	})
	cfg, log, code := loadConfig(path, "archil-launch", stderr)
	if cfg == nil {
		return code
	}
	protectProcess(log)
	return finish(stderr, launcher.Run(ctx, catch, cfg, log))
}

func runStopHook(path string, stderr io.Writer) int {
	ignorePipe()
	cfg, log, code := loadConfig(path, "archil-launch stop hook", stderr)
	if cfg == nil {
		return code
	}
	protectProcess(log)
	return finish(stderr, launcher.StopHook(cfg, log))
}

// ignorePipe turns SIGPIPE into EPIPE: a write to a closed stdout or
// stderr (journald restarted, a reader gone) must not kill the launcher
// before its flush. Notify, not Ignore: a signal the process catches is
// reset by exec, so the client keeps SIGPIPE as it would have it.
func ignorePipe() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

// loadConfig loads the mount config and makes the logger, named name, for
// it; on error it returns a nil config and the exit status.
func loadConfig(path, name string, stderr io.Writer) (*config.Config, *logline.Logger, int) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, fail(stderr, err)
	}
	log := logline.New(stderr, name, logline.Level(cfg.LogLevel)).With("mount", cfg.Name)
	return cfg, log, exitOK
}

// finish reports a run's error on one line and returns its exit status.
func finish(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintf(stderr, "archil-launch: error: %s\n", oneLine(err.Error()))
	}
	return launcher.ExitCode(err)
}

// protectProcess readies the process to hold a token: no core dump, no
// inherited descriptor for the client. (Run exempts the launcher from the
// OOM killer once the client is started.)
func protectProcess(log *logline.Logger) {
	protectMemory(log)
	// Whatever the launcher inherited by accident (a shell's or a
	// supervisor's open files) must not reach the client, which runs as
	// root with the token.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		log.Warn("failed to mark inherited descriptors close-on-exec", "error", err)
	}
}

// protectMemory keeps the token out of core dumps, of the launcher and,
// through the inherited limit, of the client (whose environment holds it).
// The core limit is 1 byte, not 0: the kernel writes no core file under a
// page anyway, and 1 is its marker for "do not pipe a dump to
// core_pattern's helper" (fs/coredump.c), so systemd-coredump never sees
// the process and cannot log its environment. 0 still runs the helper.
// Non-dumpable also bars ptrace and /proc/<pid>/mem to other users.
func protectMemory(log *logline.Logger) {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 1, Max: 1}); err != nil {
		// A hard limit of 0 (a unit's LimitCORE=0) leaves no room to raise
		// it to 1 without CAP_SYS_RESOURCE; 0 stops core files, not a
		// core_pattern pipe helper. Say so where the operator looks.
		log.Error("CORE DUMPS NOT FULLY DISABLED: RLIMIT_CORE cannot be set to 1; a core_pattern pipe helper (systemd-coredump) may still receive a dump holding the token; set LimitCORE=1 in the unit", "error", err)
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
			log.Error("failed to disable core dumps", "error", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		log.Warn("failed to mark the process non-dumpable", "error", err)
	}
}

func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "archil-launch: error: %s (see archil-launch --help)\n", msg)
	return exitUsage
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "archil-launch: error: %s\n", oneLine(err.Error()))
	return exitProblem
}
