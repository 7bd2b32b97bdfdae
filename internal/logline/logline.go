// Package logline is the launcher's log format: a log/slog handler that
// writes each record as one line for the journal, which stamps the time
// itself:
//
//	[INFO]  archil-launch: archil unmount finished: mount=data mount_point=/mnt/data
//
// A value holding a space, a quote, an '=' or a control character is
// quoted, so a record never spans two lines. It replaces hashicorp/go-hclog
// (the same format), whose package initialisation alone cost the launcher's
// start-up a twentieth of a millisecond. Logger takes slog's calls.
package logline

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// LevelTrace is the client's "trace", below slog's Debug.
const LevelTrace = slog.LevelDebug - 4

// Level is the slog level of one of the client's --log-level names
// (trace, debug, info, warn, error); Info for another.
func Level(name string) slog.Level {
	switch name {
	case "trace":
		return LevelTrace
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Logger is slog's Logger less the caller's program counter, which slog
// looks up for every record (runtime.Callers: cold, it cost the first
// line of a start as much as writing it); the format shows no source.
type Logger struct {
	h slog.Handler
}

// New returns a logger named name that writes records at level and above
// to w, one Write per record.
func New(w io.Writer, name string, level slog.Level) *Logger {
	return &Logger{h: &handler{out: &output{w: w}, name: name, level: level}}
}

// Discard is a logger that writes nothing.
func Discard() *Logger { return &Logger{h: slog.DiscardHandler} }

// With returns a logger that adds args (key, value pairs) to every record.
func (l *Logger) With(args ...any) *Logger {
	r := slog.NewRecord(time.Time{}, 0, "", 0)
	r.Add(args...)
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	return &Logger{h: l.h.WithAttrs(attrs)}
}

func (l *Logger) Debug(msg string, args ...any) { l.log(slog.LevelDebug, msg, args) }
func (l *Logger) Info(msg string, args ...any)  { l.log(slog.LevelInfo, msg, args) }
func (l *Logger) Warn(msg string, args ...any)  { l.log(slog.LevelWarn, msg, args) }
func (l *Logger) Error(msg string, args ...any) { l.log(slog.LevelError, msg, args) }

func (l *Logger) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if !l.h.Enabled(ctx, level) {
		return
	}
	// No time (the journal stamps each line), no program counter.
	r := slog.NewRecord(time.Time{}, level, msg, 0)
	r.Add(args...)
	_ = l.h.Handle(ctx, r)
}

// output is what the handlers of one logger (and its With children) share.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

type handler struct {
	out   *output
	name  string
	level slog.Level
	attrs string // preformatted " k=v" of With
	group string // prefix of keys, "g." for WithGroup("g")
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(levelTag(r.Level))
	if h.name != "" {
		b.WriteString(h.name)
		b.WriteString(": ")
	}
	b.WriteString(oneLine(r.Message))
	if h.attrs != "" || r.NumAttrs() > 0 {
		b.WriteByte(':')
		b.WriteString(h.attrs)
		r.Attrs(func(a slog.Attr) bool {
			appendAttr(&b, h.group, a)
			return true
		})
	}
	b.WriteByte('\n')
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := io.WriteString(h.out.w, b.String())
	return err
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		appendAttr(&b, h.group, a)
	}
	c := *h
	c.attrs += b.String()
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.group += name + "."
	return &c
}

// levelTag is hclog's "[INFO]  ", padded to one width.
func levelTag(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "[TRACE] "
	case l < slog.LevelInfo:
		return "[DEBUG] "
	case l < slog.LevelWarn:
		return "[INFO]  "
	case l < slog.LevelError:
		return "[WARN]  "
	}
	return "[ERROR] "
}

func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve() // a broker.Secret's LogValue, say
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			appendAttr(b, group+a.Key+".", g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	b.WriteString(quote(a.Value.String()))
}

// quote quotes s when it would not read back as one value.
func quote(s string) string {
	if s == "" || strings.IndexFunc(s, func(r rune) bool {
		return r == ' ' || r == '"' || r == '=' || !unicode.IsPrint(r)
	}) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r\n", " | ", "\n", " | ", "\r", " | ").Replace(s)
	}
	return s
}
