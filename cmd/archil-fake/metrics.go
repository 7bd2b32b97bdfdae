package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the counters of one mount, what `archil metrics` reports.
type metrics struct {
	reads, readBytes   atomic.Int64
	writes, writeBytes atomic.Int64
	metadataOps        atomic.Int64 // create, mkdir, rename, unlink, setattr, xattrs...
	refused            atomic.Int64 // writes refused with EROFS

	mu    sync.Mutex
	since time.Time // start, or the last reset
}

func newMetrics() *metrics { return &metrics{since: time.Now()} }

// metricsSnapshot is the JSON object of `archil metrics --json`.
type metricsSnapshot struct {
	Reads          int64   `json:"reads"`
	ReadBytes      int64   `json:"read_bytes"`
	Writes         int64   `json:"writes"`
	WriteBytes     int64   `json:"write_bytes"`
	MetadataOps    int64   `json:"metadata_ops"`
	Refused        int64   `json:"readonly_refusals"`
	FilesFlushed   int64   `json:"files_flushed"`
	PendingChanges int     `json:"pending_changes"`
	Seconds        float64 `json:"seconds"` // since the start or the last reset
}

// snapshot reads the counters, and with reset zeroes them.
func (m *metrics) snapshot(st *store, reset bool) metricsSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	take := func(c *atomic.Int64) int64 {
		if reset {
			return c.Swap(0)
		}
		return c.Load()
	}
	s := metricsSnapshot{
		Reads:          take(&m.reads),
		ReadBytes:      take(&m.readBytes),
		Writes:         take(&m.writes),
		WriteBytes:     take(&m.writeBytes),
		MetadataOps:    take(&m.metadataOps),
		Refused:        take(&m.refused),
		FilesFlushed:   take(&st.flushed),
		PendingChanges: st.pendingCount(),
		Seconds:        time.Since(m.since).Seconds(),
	}
	if reset {
		m.since = time.Now()
	}
	return s
}

// print writes the snapshot as `archil metrics` does without --json.
func (s metricsSnapshot) print(w io.Writer) {
	for _, row := range []struct {
		name  string
		value any
	}{
		{"reads", s.Reads},
		{"read_bytes", s.ReadBytes},
		{"writes", s.Writes},
		{"write_bytes", s.WriteBytes},
		{"metadata_ops", s.MetadataOps},
		{"readonly_refusals", s.Refused},
		{"files_flushed", s.FilesFlushed},
		{"pending_changes", s.PendingChanges},
		{"seconds", fmt.Sprintf("%.3f", s.Seconds)},
	} {
		fmt.Fprintf(w, "%-18s %v\n", row.name+":", row.value)
	}
}
