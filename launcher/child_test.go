package launcher

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/archil-nix/archil-launch/launcher/config"
)

func TestMountArgs(t *testing.T) {
	cfg := &config.Config{
		DiskName: "acme/data:/models", MountPoint: "/mnt/data", Region: "aws-us-east-1",
		LogLevel: "debug", Shared: true, ReadOnly: true, EnableXattrs: true, WritebackCache: true,
		MaxCacheMB: 2048, TargetCacheMB: 1024,
		ExtraArgs: []string{"--nconnect=4", "--statistics"},
	}
	want := []string{"--log-level", "debug", "mount", "acme/data:/models", "/mnt/data", "--no-fork",
		"--region", "aws-us-east-1", "--shared", "--read-only", "--enable-xattrs", "--writeback-cache",
		"--max-cache-mb", "2048", "--target-cache-mb", "1024", "--nconnect=4", "--statistics"}
	if got := mountArgs(cfg); !slices.Equal(got, want) {
		t.Errorf("mountArgs:\n got %q\nwant %q", got, want)
	}
	minimal := &config.Config{DiskName: "dsk-0123456789abcdef", MountPoint: "/srv/d", Region: "gcp-us-central1"}
	want = []string{"mount", "dsk-0123456789abcdef", "/srv/d", "--no-fork", "--region", "gcp-us-central1"}
	if got := mountArgs(minimal); !slices.Equal(got, want) {
		t.Errorf("mountArgs minimal:\n got %q\nwant %q", got, want)
	}
	if got := unmountArgs(cfg); !slices.Equal(got, []string{"--log-level", "debug", "unmount", "/mnt/data"}) {
		t.Errorf("unmountArgs = %q", got)
	}
}

func TestLineTail(t *testing.T) {
	var tail lineTail
	for i := range 30 {
		fmt.Fprintf(&tail, "line %d\n", i)
	}
	tail.Write([]byte("partial " + strings.Repeat("x", 2*tailLineMax)))
	lines := tail.Lines()
	if len(lines) != tailLines+1 {
		t.Fatalf("kept %d lines, want %d", len(lines), tailLines+1)
	}
	if lines[0] != "line 10" || lines[tailLines-1] != "line 29" {
		t.Errorf("lines = %q", lines)
	}
	if len(lines[tailLines]) != tailLineMax {
		t.Errorf("partial line is %d bytes, want %d", len(lines[tailLines]), tailLineMax)
	}
	if got := oneLine([]string{"a\x1b[0m", "", "  b  ", "c\r"}); got != "a[0m | b | c" {
		t.Errorf("oneLine = %q", got)
	}
}

func TestExitCode(t *testing.T) {
	wrapped := fmt.Errorf("outer: %w", &ExitError{Code: 3, Err: errors.New("inner")})
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("plain"), 1},
		{&ExitError{Code: 2, Err: errors.New("x")}, 2},
		{wrapped, 3},
		{exitErr(0, errors.New("zero")), 1},
	} {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	e := &ExitError{Code: 4, Err: fs.ErrNotExist}
	if !errors.Is(e, fs.ErrNotExist) || e.Error() != fs.ErrNotExist.Error() {
		t.Errorf("ExitError does not unwrap")
	}
}
