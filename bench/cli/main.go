// Command cli measures archil-launch as a program: the time from its start
// to the exec of the client, next to a minimal Go launcher (floor) and a
// shell wrapper, and the time of --check on ten configs. It runs in a
// private mount namespace and only under a temporary directory.
//
//	go run ./bench/cli -launcher BIN -floor BIN -stamp BIN [-n 200]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/mountns"
)

var (
	launcherBin = flag.String("launcher", "", "archil-launch binary")
	floorBin    = flag.String("floor", "", "floor binary (bench/cli/floor)")
	stampBin    = flag.String("stamp", "", "stamp binary (bench/cli/stamp/stamp.c)")
	rounds      = flag.Int("n", 200, "runs of each variant")
)

func main() {
	flag.Parse()
	if *launcherBin == "" || *floorBin == "" || *stampBin == "" {
		fmt.Fprintln(os.Stderr, "usage: cli -launcher BIN -floor BIN -stamp BIN [-n N]")
		os.Exit(2)
	}
	os.Exit(mountns.Run(bench{}, mountns.TmpfsOn("/run")))
}

type bench struct{}

func (bench) Run() int {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

func run() error {
	dir, err := os.MkdirTemp("", "archil-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	creds := filepath.Join(dir, "creds")
	if err := os.MkdirAll(creds, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(creds, "archil-token"), []byte("bench-token\n"), 0o400); err != nil {
		return err
	}
	mp := filepath.Join(dir, "mnt")
	cfg := filepath.Join(dir, "bench.json")
	if err := writeConfig(cfg, "bench", mp, *stampBin); err != nil {
		return err
	}
	childArgs := []string{*stampBin, "mount", "org/bench", mp, "--no-fork", "--region", "aws-us-east-1"}
	variants := []struct {
		name string
		argv []string
	}{
		{"archil-launch", []string{*launcherBin, "--config", cfg}},
		{"floor (Go + SDK)", append([]string{*floorBin}, childArgs...)},
		{"sh -c exec", append([]string{"/bin/sh", "-c", `exec "$0" "$@"`}, childArgs...)},
	}
	samples := make([][]time.Duration, len(variants))
	for i := 0; i < *rounds; i++ {
		for v, variant := range variants {
			d, err := startToExec(variant.argv, mp, creds)
			if err != nil {
				return fmt.Errorf("%s: %w", variant.name, err)
			}
			samples[v] = append(samples[v], d)
		}
	}
	fmt.Printf("start-up to exec of the client, %d runs each\n", *rounds)
	base := median(samples[0])
	for v, variant := range variants {
		m := median(samples[v])
		fmt.Printf("  %-18s median %8s  p90 %8s  archil-launch/this %.2fx\n", variant.name, m, percentile(samples[v], 90), float64(base)/float64(m))
	}
	return benchCheck(dir)
}

// startToExec runs argv and returns the time from just before fork to the
// client's first instruction, as the stamp client recorded it. The mount
// point stays between runs, an empty directory as after any clean stop:
// creating it is the file system's cost, which the other variants skip.
func startToExec(argv []string, mp, creds string) (time.Duration, error) {
	os.Remove(mp + ".stamp")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "CREDENTIALS_DIRECTORY="+creds)
	t0 := monotonic()
	_ = cmd.Run() // the launcher exits 1: its client left before a mount
	b, err := os.ReadFile(mp + ".stamp")
	if err != nil {
		return 0, fmt.Errorf("client did not run: %w", err)
	}
	t1, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(t1 - t0), nil
}

// benchCheck times --check on ten valid configs, without IMDS, with the
// client probes: one client that answers at once (as on a NixOS host,
// where every mount has the same package), ten that do (one version probe
// each), and ten that hang (each probe killed at its 2 s budget).
func benchCheck(dir string) error {
	hang := filepath.Join(dir, "hang")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755); err != nil {
		return err
	}
	for _, v := range []struct {
		name   string
		client func(i int) (string, error)
		runs   int
	}{
		{"one client that answers", func(int) (string, error) { return *stampBin, nil }, 30},
		{"ten clients that answer", func(i int) (string, error) { return clientCopy(dir, "stamp", i, *stampBin) }, 30},
		{"ten clients that hang", func(i int) (string, error) { return clientCopy(dir, "hang", i, hang) }, 3},
	} {
		args := []string{"--check"}
		for i := 0; i < 10; i++ {
			client, err := v.client(i)
			if err != nil {
				return err
			}
			cfg := filepath.Join(dir, fmt.Sprintf("check%d.json", i))
			if err := writeConfig(cfg, fmt.Sprintf("m%d", i), filepath.Join(dir, fmt.Sprintf("m%d", i)), client); err != nil {
				return err
			}
			args = append(args, "--config", cfg)
		}
		var samples []time.Duration
		for i := 0; i < v.runs; i++ {
			cmd := exec.Command(*launcherBin, args...)
			cmd.Env = append(os.Environ(), "CREDENTIALS_DIRECTORY="+filepath.Join(dir, "creds"))
			start := time.Now()
			out, err := cmd.CombinedOutput()
			samples = append(samples, time.Since(start))
			if err != nil {
				return fmt.Errorf("--check failed: %v\n%s", err, out)
			}
		}
		fmt.Printf("--check on 10 configs, %s, %d runs: median %s  p90 %s\n", v.name, v.runs, median(samples), percentile(samples, 90))
	}
	return nil
}

// clientCopy is a path of its own for client: --check probes each client
// path once.
func clientCopy(dir, name string, i int, client string) (string, error) {
	p := filepath.Join(dir, fmt.Sprintf("%s%d", name, i))
	if _, err := os.Lstat(p); err == nil {
		return p, nil
	}
	return p, os.Symlink(client, p)
}

func writeConfig(path, name, mp, client string) error {
	return os.WriteFile(path, []byte(fmt.Sprintf(`{"name":%q,"diskName":"org/bench","mountPoint":%q,"region":"aws-us-east-1","authMethod":"token","archil":%q}`, name, mp, client)), 0o644)
}

func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}
