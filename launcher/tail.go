package launcher

import (
	"bytes"
	"sync"
)

// Bounds of what lineTail keeps: enough to explain a failure in one error
// message, not a log file.
const (
	tailLines   = 20
	tailLineMax = 512
)

// lineTail is an io.Writer that keeps the last tailLines lines written to
// it, each cut to tailLineMax bytes. The client's stderr is teed into one so
// a failure can quote it.
type lineTail struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
}

func (t *lineTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.appendPartial(p)
			break
		}
		t.appendPartial(p[:i])
		t.push(string(t.partial))
		t.partial = t.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (t *lineTail) appendPartial(p []byte) {
	if room := tailLineMax - len(t.partial); room > 0 {
		t.partial = append(t.partial, p[:min(room, len(p))]...)
	}
}

func (t *lineTail) push(line string) {
	if len(t.lines) == tailLines {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

// Lines returns the kept lines, oldest first, with an unfinished last line.
func (t *lineTail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if len(t.partial) > 0 {
		out = append(out, string(t.partial))
	}
	return out
}
