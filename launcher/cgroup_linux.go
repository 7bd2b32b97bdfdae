package launcher

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
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
		log.Info("not run as a service's stop hook; leaving other processes alone", "cgroup", line)
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

// drainUnitOutput reads, for the stop hook, the output of every process of
// the unit whose stdout and stderr are pipes it also holds the read ends
// of, at descriptors 3 and 4: a client a dead launcher left (see
// clientOutput). Its output reaches the journal again, and a client that
// logs much while it flushes does not block on a full pipe. The drains end
// with the processes.
func drainUnitOutput(log *logline.Logger) *clientOutput {
	o := &clientOutput{tail: &lineTail{}}
	cg, line, ok := unitCgroup()
	if !ok {
		return o
	}
	procs, err := cgroupProcs(cg, line)
	if err != nil {
		return o
	}
	for _, p := range procs {
		unix.Close(p.fd)
		for _, fds := range []struct {
			read, write int
			to          io.Writer
		}{{3, 1, childStdout}, {4, 2, childStderr}} {
			if f := samePipe(p.pid, fds.read, fds.write); f != nil {
				log.Info("reading the output of a process the launcher left", "pid", p.pid, "fd", fds.write)
				o.drained.Add(1)
				go o.drain(f, fds.to)
			}
		}
	}
	return o
}

// samePipe opens pid's descriptor read anew, read-only and non-blocking,
// when it is the read end of the pipe whose write end is its descriptor
// write.
func samePipe(pid, read, write int) *os.File {
	fd := func(n int) string { return "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(n) }
	r, err1 := os.Readlink(fd(read))
	w, err2 := os.Readlink(fd(write))
	if err1 != nil || err2 != nil || r != w || !strings.HasPrefix(r, "pipe:") {
		return nil
	}
	f, err := os.OpenFile(fd(read), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	return f
}

type unitProc struct {
	pid int
	fd  int // pidfd
}

// unitCgroup is this process's cgroup directory and its cgroup2 line of
// /proc/self/cgroup ("0::/system.slice/x.service"; a host with the
// version 1 hierarchies too lists those first), when it runs as a
// service's control process.
func unitCgroup() (dir, line string, ok bool) {
	line = unifiedLine("/proc/self/cgroup")
	if os.Getenv("SERVICE_RESULT") == "" {
		return "", line, false
	}
	rel, ok := strings.CutPrefix(line, "0::")
	if !ok || !strings.HasSuffix(path.Base(rel), ".service") {
		return "", line, false
	}
	return path.Join(cgroupRoot, rel), line, true
}

// unifiedLine is the cgroup2 line ("0::...") of a /proc/<pid>/cgroup file,
// "" when there is none.
func unifiedLine(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for l := range strings.Lines(string(b)) {
		if l = strings.TrimSuffix(l, "\n"); strings.HasPrefix(l, "0::") {
			return l
		}
	}
	return ""
}

// cgroupProcs opens a pidfd of every process in cg but this one, keeping
// those that were still in cg (their cgroup2 line of /proc/<pid>/cgroup is
// line) and
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
		if unifiedLine("/proc/"+strconv.Itoa(pid)+"/cgroup") != line || exitedFd(fd) {
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
