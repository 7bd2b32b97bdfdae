package check

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/archil-nix/archil-launch/internal/probe"
	"github.com/archil-nix/archil-launch/launcher"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// probeBudget bounds each probe of the client (DESIGN.md: every probe of
// the client bounded to 2 s). The probes of all mounts run at once, so a
// client that hangs costs --check about this much in all.
const probeBudget = 2 * time.Second

// A probe's answer in the table: its first lines on one row, cut short.
const (
	detailLines = 3
	detailBytes = 200
)

// ProbeInfo is one run of the client: what ran and what it said, cleaned
// of control characters. The client never gets the token, so its output
// cannot hold it.
type ProbeInfo struct {
	Command   []string `json:"command"`
	State     string   `json:"state"` // ok, failed or timed out
	Exit      string   `json:"exit,omitempty"`
	Error     string   `json:"error,omitempty"`
	Output    []string `json:"output,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
	// Stuck: it outlived SIGKILL (blocked in the kernel) and is reaped
	// whenever it ends.
	Stuck  bool    `json:"stuck,omitempty"`
	TookMS float64 `json:"tookMs"`
}

// clientProbes runs the client probes of one --check, those of all
// mounts at once. `version` asks the binary, not a mount, so mounts with
// the same client share one answer.
type clientProbes struct {
	mu       sync.Mutex
	versions map[string]func() versionAnswer
	running  sync.WaitGroup
	items    [][]CheckItem // by mount
}

// versionAnswer is the version item of a client, and whether the client
// is one from before 0.8: it rejected `version` and answered --version.
type versionAnswer struct {
	item CheckItem
	old  bool
}

func newClientProbes(mounts int) *clientProbes {
	return &clientProbes{versions: map[string]func() versionAnswer{}, items: make([][]CheckItem, mounts)}
}

// start probes the client of mount i, whose mount point is live or not.
func (p *clientProbes) start(ctx context.Context, i int, cfg *config.Config, live bool) {
	p.running.Go(func() { p.items[i] = p.probe(ctx, cfg, live) })
}

// wait returns the items of every mount, by mount, once all are in.
func (p *clientProbes) wait() [][]CheckItem {
	p.running.Wait()
	return p.items
}

// probe asks cfg's client its version and, for a live mount, the mount's
// status, both at once, each within probeBudget. The client gets the
// environment the launcher gives it, without the token.
func (p *clientProbes) probe(ctx context.Context, cfg *config.Config, live bool) []CheckItem {
	env := launcher.ClientEnvWithoutToken(cfg)
	if !live {
		return []CheckItem{p.version(ctx, cfg.Archil, env).item}
	}
	statusc := make(chan statusAnswer, 1)
	go func() { statusc <- statusItem(ctx, cfg.Archil, cfg.MountPoint, env) }()
	version, s := p.version(ctx, cfg.Archil, env), <-statusc
	status := s.item
	if version.old && s.refused {
		// `status` came with 0.8, as `version` did: a client that lacks
		// one lacks the other, and its refusal says nothing of the mount.
		status.OK, status.State = true, "not supported"
		status.Detail = "a client from before 0.8 has no status (" + status.Detail + ")"
	}
	return []CheckItem{version.item, status}
}

// version is versionItem once per client path; a mount that asks while
// another's probe runs waits for that answer.
func (p *clientProbes) version(ctx context.Context, path string, env []string) versionAnswer {
	p.mu.Lock()
	get, ok := p.versions[path]
	if !ok {
		get = sync.OnceValue(func() versionAnswer { return versionItem(ctx, path, env) })
		p.versions[path] = get
	}
	p.mu.Unlock()
	return get()
}

// versionItem asks the client its version: `archil version` (0.8), else
// `archil --version`, which every client has. An older client rejects
// `version` as an unknown subcommand, in words that are no stable
// interface, so any failure of `version` that ends in an exit status of
// its own earns the fallback; a timeout does not (the budget, shared by
// both, is spent). No answer is a warning, not a problem: the version is
// for the operator, and a mount may work without it.
func versionItem(ctx context.Context, path string, env []string) versionAnswer {
	ctx, cancel := context.WithTimeout(ctx, probeBudget)
	defer cancel()
	item := CheckItem{Check: "client version", OK: true}
	first := run(ctx, &item, path, env, "version")
	answer, fellBack := first, first.State == probe.Failed && first.Exited()
	if fellBack {
		answer = run(ctx, &item, path, env, "--version")
	}
	item.State = answer.State
	name := filepath.Base(path)
	switch {
	case answer.State == probe.OK && fellBack:
		item.Detail = outcome(answer) + " (from --version; " + name + " version: " + outcome(first) + ")"
	case answer.State == probe.OK:
		item.Detail = outcome(answer)
	default:
		item.Detail = "version unknown (a warning, not counted as a problem)"
		item.Warnings = append(item.Warnings, name+" version: "+outcome(first))
		if fellBack {
			item.Warnings = append(item.Warnings, name+" --version: "+outcome(answer))
		}
	}
	return versionAnswer{item: item, old: fellBack && answer.State == probe.OK}
}

// statusAnswer is the status item of a live mount, and whether the client
// refused the question (failed with an exit status of its own).
type statusAnswer struct {
	item    CheckItem
	refused bool
}

// statusItem asks the client of a live mount how the mount is (`archil
// status`, the vendor's health check). A live mount whose client cannot
// say is a problem: the client is stuck, or is not the one configured.
func statusItem(ctx context.Context, path, mountPoint string, env []string) statusAnswer {
	ctx, cancel := context.WithTimeout(ctx, probeBudget)
	defer cancel()
	item := CheckItem{Check: "client status"}
	r := run(ctx, &item, path, env, "status", mountPoint)
	item.OK, item.State, item.Detail = r.State == probe.OK, r.State, outcome(r)
	return statusAnswer{item: item, refused: r.State == probe.Failed && r.Exited()}
}

// run runs one probe of the client and records it in item.
func run(ctx context.Context, item *CheckItem, path string, env []string, args ...string) probe.Result {
	r := probe.Run(ctx, probe.Command{Path: path, Args: args, Env: env})
	info := ProbeInfo{
		Command: append([]string{path}, args...), State: r.State, Exit: r.Exit,
		Output: r.Lines(), Truncated: r.Truncated, Stuck: r.Stuck,
		TookMS: float64(r.Took.Microseconds()) / 1000,
	}
	if r.Err != nil {
		info.Error = r.Err.Error()
	}
	item.Probes = append(item.Probes, info)
	return r
}

// outcome says in one line how a probe ended and what it said.
func outcome(r probe.Result) string {
	said := summary(r.Lines())
	var s string
	switch {
	case r.State == probe.OK && said == "":
		return "(no output)"
	case r.State == probe.OK:
		return said
	case r.Err != nil:
		s = r.Err.Error()
	case r.State == probe.TimedOut:
		s = fmt.Sprintf("no answer within %s; killed with its process group", probeBudget)
		if r.Stuck {
			s += ", but a process of it is stuck in the kernel"
		}
	default:
		s = r.Exit
	}
	if said != "" {
		s += ": " + said
	}
	return s
}

// summary is the first detailLines lines joined, at most detailBytes, each
// with its runs of spaces (a column layout) made one.
func summary(lines []string) string {
	more := len(lines) > detailLines
	short := make([]string, 0, detailLines)
	for _, l := range lines[:min(len(lines), detailLines)] {
		short = append(short, strings.Join(strings.Fields(l), " "))
	}
	s := strings.Join(short, " | ")
	if len(s) > detailBytes {
		s = strings.ToValidUTF8(s[:detailBytes], "")
		more = true
	}
	if more {
		s += " …"
	}
	return s
}
