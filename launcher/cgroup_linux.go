package launcher

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/archil-nix/archil-launch/internal/logline"
	"golang.org/x/sys/unix"
)

// cgroupRoot is where the cgroup2 hierarchy is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// endUnitProcesses ends every process of the unit's cgroup but this one:
// SIGTERM, SIGKILL after killGrace. Only in a stop hook systemd runs
// (SERVICE_RESULT set, the cgroup a .service's): run from a shell, the
// cgroup is the user's session, whose processes are not the launcher's.
// Each process is signalled through a pidfd opened while it was seen in
// the cgroup, so a pid reused meanwhile is never hit.
func endUnitProcesses(log *logline.Logger) error {
	cg, line, ok := unitCgroup()
	if !ok {
		log.Info("not run as a service's stop hook; leaving other processes alone")
		return nil
	}
	procs, err := cgroupProcs(cg, line)
	if err != nil {
		return err
	}
	if len(procs) == 0 {
		return nil
	}
	defer func() {
		for _, p := range procs {
			unix.Close(p.fd)
		}
	}()
	log.Warn("ending processes left in the unit", "cgroup", cg, "pids", pidList(procs))
	left := signalAndWait(procs, unix.SIGTERM, killGrace)
	if len(left) > 0 {
		log.Warn("processes did not exit on SIGTERM; killing them", "pids", pidList(left))
		left = signalAndWait(left, unix.SIGKILL, killGrace)
	}
	if len(left) > 0 {
		return fmt.Errorf("processes %s of the unit did not exit after SIGKILL", pidList(left))
	}
	return nil
}

type unitProc struct {
	pid int
	fd  int // pidfd
}

// unitCgroup is this process's cgroup directory and its /proc/self/cgroup
// line, when it runs as a service's control process.
func unitCgroup() (dir, line string, ok bool) {
	if os.Getenv("SERVICE_RESULT") == "" {
		return "", "", false
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", "", false
	}
	line = strings.TrimSpace(string(b))
	rel, ok := strings.CutPrefix(line, "0::")
	if !ok || strings.Contains(rel, "\n") || !strings.HasSuffix(path.Base(rel), ".service") {
		return "", "", false
	}
	return path.Join(cgroupRoot, rel), line, true
}

// cgroupProcs opens a pidfd of every process in cg but this one, keeping
// those that were still in cg (their /proc/<pid>/cgroup reads line) and
// alive after their pidfd was opened: then the pid was theirs.
func cgroupProcs(cg, line string) ([]unitProc, error) {
	b, err := os.ReadFile(path.Join(cg, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("failed to list the unit's processes: %w", err)
	}
	var procs []unitProc
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		pid, err := strconv.Atoi(sc.Text())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone
		}
		now, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
		if err != nil || strings.TrimSpace(string(now)) != line || exitedFd(fd) {
			unix.Close(fd)
			continue
		}
		procs = append(procs, unitProc{pid: pid, fd: fd})
	}
	return procs, nil
}

// signalAndWait sends sig to procs and waits up to d for them to exit; it
// returns those still alive.
func signalAndWait(procs []unitProc, sig unix.Signal, d time.Duration) []unitProc {
	for _, p := range procs {
		_ = unix.PidfdSendSignal(p.fd, sig, nil, 0)
	}
	deadline := time.Now().Add(d)
	for {
		var alive []unitProc
		for _, p := range procs {
			if !exitedFd(p.fd) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 || !time.Now().Before(deadline) {
			return alive
		}
		pfds := make([]unix.PollFd, len(alive))
		for i, p := range alive {
			pfds[i] = unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN}
		}
		_ = pollFds(pfds, time.Until(deadline))
		procs = alive
	}
}

// exitedFd reports, without waiting, whether pidfd's process has exited.
func exitedFd(fd int) bool {
	pfds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	return pollFds(pfds, 0) == nil && pfds[0].Revents != 0
}

func pidList(procs []unitProc) string {
	s := make([]string, len(procs))
	for i, p := range procs {
		s[i] = strconv.Itoa(p.pid)
	}
	return strings.Join(s, " ")
}
