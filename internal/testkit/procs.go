package testkit

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Proc is a process as /proc/<pid>/stat shows it.
type Proc struct {
	Pid, PPid, Pgrp int
	State           string // R, S, D, Z, ...
}

// Dead reports whether the process has exited and waits to be reaped.
func (p Proc) Dead() bool { return p.State == "Z" || p.State == "X" }

// Procs lists the processes for which keep is true.
func Procs(keep func(Proc) bool) ([]Proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var procs []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 3 {
			continue
		}
		p := Proc{Pid: pid, State: fields[0]}
		p.PPid, _ = strconv.Atoi(fields[1])
		p.Pgrp, _ = strconv.Atoi(fields[2])
		if keep(p) {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// NoLive waits up to within until no live process matches keep, and
// returns those still there then: a process SIGKILLed a moment ago may
// still be exiting, one still there after seconds was not killed. A
// zombie has exited.
func NoLive(keep func(Proc) bool, within time.Duration) ([]Proc, error) {
	deadline := time.Now().Add(within)
	for {
		left, err := Procs(func(p Proc) bool { return !p.Dead() && keep(p) })
		if err != nil || len(left) == 0 || time.Now().After(deadline) {
			return left, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitNoLive fails the test unless, within 5 s, no live process matches
// keep (see NoLive).
func WaitNoLive(t testing.TB, what string, keep func(Proc) bool) {
	t.Helper()
	left, err := NoLive(keep, 5*time.Second)
	Must(t, err)
	if len(left) != 0 {
		t.Fatalf("%s left behind: %+v", what, left)
	}
}
