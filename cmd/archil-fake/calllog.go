package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// tokenEnv is the variable the real client reads its disk token from.
const tokenEnv = "ARCHIL_MOUNT_TOKEN"

// call is one line of $STATE/calls.log. It holds the names of the
// environment variables, never their values, and the token's length only.
type call struct {
	Time     string   `json:"time"`
	PID      int      `json:"pid"`
	Argv     []string `json:"argv"`
	Env      []string `json:"env"`
	TokenLen int      `json:"tokenLen"`
}

// recordCall appends one line describing this invocation to calls.log.
// The value of --auth-token is replaced by "[redacted]"; the flag itself
// stays, so tests can assert it was never passed.
func (s *state) recordCall(argv []string) error {
	c := call{
		Time:     time.Now().UTC().Format(time.RFC3339Nano),
		PID:      os.Getpid(),
		Argv:     redactArgv(argv),
		Env:      envNames(),
		TokenLen: len(os.Getenv(tokenEnv)),
	}
	line, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("failed to encode call log line: %w", err)
	}
	f, err := os.OpenFile(s.path("calls.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("failed to open call log: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("failed to write call log: %w", err)
	}
	return nil
}

func envNames() []string {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func redactArgv(argv []string) []string {
	out := slices.Clone(argv)
	for i, a := range out {
		switch {
		case a == "--auth-token" || a == "-auth-token":
			if i+1 < len(out) {
				out[i+1] = "[redacted]"
			}
		case strings.HasPrefix(a, "--auth-token=") || strings.HasPrefix(a, "-auth-token="):
			flag, _, _ := strings.Cut(a, "=")
			out[i] = flag + "=[redacted]"
		}
	}
	return out
}
