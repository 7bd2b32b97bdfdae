// Package probe runs a short command that asks a program something (its
// version, the state of a mount it serves) when that program may fail,
// hang or flood its output: the run is bounded by its context, its output
// by MaxOutput, and when it ends, in time or not, its whole process group
// is killed and its leader reaped, so that no process of it outlives the
// run. Only what it printed, cleaned of control characters, comes back.
package probe

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
)

// MaxOutput is how much of a probe's output is kept: a few lines are all a
// report shows, and a program that floods its output must not grow the
// caller's memory.
const MaxOutput = 4 << 10

// States of a run.
const (
	OK       = "ok"
	Failed   = "failed"    // did not start, exited non-zero, or died of a signal
	TimedOut = "timed out" // still running when its context was done: killed
)

// Command is one probe.
type Command struct {
	Path string
	Args []string
	// Env is the whole environment: an empty one is empty, never the
	// caller's.
	Env []string
}

// Result is what a run found.
type Result struct {
	State string
	// Exit is how the process ended ("exit status 1", "signal: killed"),
	// empty when it did not start or could not be reaped.
	Exit string
	// Err is why it did not start or could not be waited for.
	Err error
	// Output is stdout and stderr as written (one pipe), cut at MaxOutput.
	Output    []byte
	Truncated bool
	// Stuck is set when the process outlived SIGKILL (a thread blocked in
	// the kernel, e.g. on a FUSE mount whose server does not answer): it
	// is reaped in the background once it ends.
	Stuck bool
	Took  time.Duration
}

// Exited reports whether the process ran and exited with a status of its
// own (zero or not), as opposed to not starting, a signal or a timeout.
func (r Result) Exited() bool { return strings.HasPrefix(r.Exit, "exit status ") }

// Lines is the output as lines fit to print on one line each: terminal
// escape sequences and control characters removed (a tab becomes a space),
// surrounding space trimmed, empty lines dropped.
func (r Result) Lines() []string {
	var lines []string
	for _, l := range strings.Split(string(r.Output), "\n") {
		if l = Clean(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// escapeSeq matches a CSI sequence (colours, cursor moves) or a two-byte
// ESC sequence: removing only their ESC would leave "[31m" behind.
// Compiled on first use: a regular expression compiled at init would cost
// every start of the launcher, which probes nothing, a tenth of a
// millisecond.
var escapeSeq = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-_])`)
})

// Clean keeps the printable characters of s (invalid UTF-8 shown as
// U+FFFD), so that what a program printed can neither end a line nor
// steer a terminal, a table or the journal.
func Clean(s string) string {
	s = escapeSeq().ReplaceAllString(s, "")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case unicode.IsPrint(r):
			return r
		}
		return -1
	}, s))
}

// capped keeps the first max bytes written to it and drops the rest while
// it still accepts them, so the program writing is never blocked on it.
// The process's copier goroutine writes while a timed-out run reads.
type capped struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := min(len(p), c.max-c.buf.Len())
	c.buf.Write(p[:keep])
	if keep < len(p) {
		c.truncated = true
	}
	return len(p), nil
}

func (c *capped) snapshot() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes()), c.truncated
}
