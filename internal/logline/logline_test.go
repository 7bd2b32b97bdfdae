package logline

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// The format: one line per record, the level, the name, the message and
// the attributes (the logger's first), quoted where a value would not read
// back; below the level, nothing.
func TestFormat(t *testing.T) {
	var b strings.Builder
	log := New(&b, "archil-launch", slog.LevelInfo).With("mount", "data")
	log.Debug("not shown")
	log.Info("archil unmount finished", "mount_point", "/mnt/data", "pid", 42)
	log.Warn("a message\nof two lines", "error", errors.New(`bad "thing"`), "empty", "", "k", "a=b")
	log.Error("failed", "group", slog.GroupValue(slog.Int("n", 1)))
	want := `[INFO]  archil-launch: archil unmount finished: mount=data mount_point=/mnt/data pid=42
[WARN]  archil-launch: a message | of two lines: mount=data error="bad \"thing\"" empty="" k="a=b"
[ERROR] archil-launch: failed: mount=data group.n=1
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	New(&b, "", Level("trace")).Debug("no name, no attributes")
	if b.String() != "[DEBUG] no name, no attributes\n" {
		t.Fatalf("got %q", b.String())
	}
	for name, want := range map[string]slog.Level{"trace": LevelTrace, "debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError, "": slog.LevelInfo} {
		if got := Level(name); got != want {
			t.Errorf("Level(%q) = %v, want %v", name, got, want)
		}
	}
}
