package launcher

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The benchmarks measure DESIGN's numbers and report them as metrics;
// nothing asserts them. Run: go test -run '^$' -bench . ./launcher

// BenchmarkReadyLatency measures the time from the mount showing up in
// mountinfo (seen by a watcher of the test's own) to READY=1 arriving on
// the notify socket.
func BenchmarkReadyLatency(b *testing.B) {
	bin := buildFake(b, b.TempDir())
	var lat []time.Duration
	for b.Loop() {
		f := newFixture(b, bin)
		visible := make(chan time.Time, 1)
		w, err := newWatch(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			defer w.close()
			for {
				top, err := w.top(f.cfg.MountPoint)
				if err == nil && isArchil(top) {
					visible <- time.Now()
					return
				}
				if _, err := w.wait(hangGuard); err != nil {
					return
				}
			}
		}()
		r := f.start()
		r.waitNote("READY=1")
		ready := time.Now()
		lat = append(lat, ready.Sub(<-visible))
		if err := r.stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(msMedian(lat), "ms-visible-to-READY")
}

// BenchmarkFailureExit measures the time from the client being SIGKILLed,
// or its mount being detached under it, to the launcher returning.
func BenchmarkFailureExit(b *testing.B) {
	bin := buildFake(b, b.TempDir())
	for _, kind := range []string{"crash", "drop"} {
		b.Run(kind, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				f := newFixture(b, bin)
				r := f.start()
				r.waitNote("READY=1")
				t0 := time.Now()
				if kind == "crash" {
					if err := syscall.Kill(f.mountPid(), syscall.SIGKILL); err != nil {
						b.Fatal(err)
					}
				} else {
					f.drop()
				}
				err := r.wait()
				lat = append(lat, time.Since(t0))
				if ExitCode(err) == 0 {
					b.Fatalf("launcher exited 0 after %s", kind)
				}
			}
			b.ReportMetric(msMedian(lat), "ms-to-exit")
		})
	}
}

// BenchmarkIdle runs the real archil-launch binary, waits for READY=1,
// and reports its resident memory and its context switches (all threads)
// over 10 idle seconds.
func BenchmarkIdle(b *testing.B) {
	dir := b.TempDir()
	bin := buildFake(b, dir)
	launch := buildLauncher(b, dir)
	for b.Loop() {
		f := newFixture(b, bin)
		cmd := f.startBinary(launch)
		waitNoteOnly(b, f, "READY=1")
		pid := cmd.Process.Pid
		before := ctxSwitches(b, pid)
		time.Sleep(10 * time.Second)
		after := ctxSwitches(b, pid)
		rss := statusField(b, pid, "VmRSS")
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := f.waitBinary(cmd); err != nil {
			b.Fatalf("archil-launch: %v\n%s", err, f.out)
		}
		b.ReportMetric(float64(rss), "KiB-RSS")
		b.ReportMetric(float64(after-before)/10, "ctxsw/s")
	}
}

func ctxSwitches(b *testing.B, pid int) int {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, t := range tasks {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "voluntary_ctxt_switches:") || strings.HasPrefix(line, "nonvoluntary_ctxt_switches:") {
				v, _ := strconv.Atoi(strings.TrimSpace(line[strings.IndexByte(line, ':')+1:]))
				n += v
			}
		}
	}
	return n
}

func statusField(b *testing.B, pid int, name string) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatalf("no %s in status", name)
	return 0
}

func msMedian(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[len(d)/2]) / float64(time.Millisecond)
}
