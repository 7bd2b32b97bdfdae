// Command archil-launch runs one Archil mount as a systemd service, or
// checks the mounts of this host.
//
//	archil-launch --config FILE                     run one mount (a unit's ExecStart)
//	archil-launch --check [--config FILE]... [--json]
//	archil-launch --version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

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
    archil-launch --check [--config FILE]... [--json]
    archil-launch --version

--config FILE runs the mount FILE describes until SIGTERM: the unit's
ExecStart. --check reports what is wrong with each mount (all of
/etc/archil/mounts.d/*.json without --config) and changes nothing;
it exits 0 when all is well and 1 when it found a problem.
`

type configList []string

func (c *configList) String() string     { return fmt.Sprint(*c) }
func (c *configList) Set(v string) error { *c = append(*c, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("archil-launch", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	var configs configList
	flags.Var(&configs, "config", "mount config `FILE` (repeatable with --check)")
	check := flags.Bool("check", false, "check the mounts and change nothing")
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
	case *showVersion && (*check || *asJSON || len(configs) > 0):
		return usageError(stderr, "--version takes no other flag")
	case *showVersion:
		fmt.Fprintln(stdout, "archil-launch", versionString())
		return exitOK
	case *check:
		return runCheck(configs, *asJSON, stdout, stderr)
	case *asJSON:
		return usageError(stderr, "--json needs --check")
	case len(configs) != 1:
		return usageError(stderr, "--config FILE is required exactly once (or use --check)")
	}
	return runMount(configs[0], stderr)
}

func runCheck(configs []string, asJSON bool, stdout, stderr io.Writer) int {
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
	// Signal handling off the main goroutine: the runtime's first
	// signal.Notify waits for a new thread, time the config load and the
	// credential lookup can use. launcher.Run starts no process (preflight's
	// `archil unmount` of a leftover mount, the client) before signalsReady
	// is closed; until then SIGTERM kills the launcher, which has changed
	// nothing.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	signalsReady := make(chan struct{})
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		// SIGHUP too: a terminal that hangs up on a hand-run launcher gets
		// the same flushing stop as SIGTERM, not a dead mount; unless it
		// was ignored (nohup), which Notify would undo.
		if !signal.Ignored(syscall.SIGHUP) {
			signal.Notify(sigs, syscall.SIGHUP)
		}
		close(signalsReady)
		<-sigs
		stop()
	}()
	protectMemory(stderr)
	cloexecInherited(stderr)
	cfg, err := config.Load(path)
	if err != nil {
		return fail(stderr, err)
	}
	level := hclog.Info
	if cfg.LogLevel != "" {
		level = hclog.LevelFromString(cfg.LogLevel)
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name:            "archil-launch",
		Level:           level,
		Output:          stderr,
		DisableTime:     true, // journald stamps each line
		Color:           hclog.ColorOff,
		IncludeLocation: false,
	}).With("mount", cfg.Name)
	err = launcher.Run(ctx, signalsReady, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "archil-launch: error: %s\n", oneLine(err.Error()))
	}
	return launcher.ExitCode(err)
}

// protectMemory keeps the token out of core dumps, of the launcher and,
// through the inherited limit, of the client (whose environment holds it).
// The core limit is 1 byte, not 0: the kernel writes no core file under a
// page anyway, and 1 is its marker for "do not pipe a dump to
// core_pattern's helper" (fs/coredump.c), so systemd-coredump never sees
// the process and cannot log its environment. 0 still runs the helper.
// Non-dumpable also bars ptrace and /proc/<pid>/mem to other users.
func protectMemory(stderr io.Writer) {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 1, Max: 1}); err != nil {
		// A unit's LimitCORE=0 leaves no room to raise it to 1.
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
			fmt.Fprintf(stderr, "archil-launch: warning: failed to disable core dumps: %v\n", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintf(stderr, "archil-launch: warning: failed to mark the process non-dumpable: %v\n", err)
	}
}

// cloexecInherited marks every descriptor above stderr close-on-exec:
// whatever the launcher inherited by accident (a shell's or a supervisor's
// open files) must not reach the client, which runs as root with the token.
func cloexecInherited(stderr io.Writer) {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		fmt.Fprintf(stderr, "archil-launch: warning: failed to mark inherited descriptors close-on-exec: %v\n", err)
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
