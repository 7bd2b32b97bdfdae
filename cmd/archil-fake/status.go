package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// statusInfo is what `archil status` reports of a running mount; --json
// prints it as is.
type statusInfo struct {
	DiskID         string    `json:"disk_id"`
	Disk           string    `json:"disk"`
	MountPoint     string    `json:"mount_point"`
	State          string    `json:"state"` // mounted, unmounting, detached
	MountedAt      time.Time `json:"mounted_at"`
	LogLevel       string    `json:"log_level"`
	Mode           string    `json:"mode"` // read-write, read-only, shared
	Delegation     bool      `json:"delegation"`
	Xattrs         bool      `json:"xattrs"`
	WritebackCache bool      `json:"writeback_cache"`
	PID            int       `json:"pid"`
	Version        string    `json:"version"`
}

func (srv *server) status() statusInfo {
	a := srv.args
	state := "mounted"
	switch {
	case srv.requested.Load():
		state = "unmounting"
	case srv.dropped.Load():
		state = "detached"
	}
	return statusInfo{
		DiskID:         diskID(a.disk),
		Disk:           a.disk,
		MountPoint:     a.mountPoint,
		State:          state,
		MountedAt:      srv.mountedAt.UTC(),
		LogLevel:       srv.logLevel,
		Mode:           a.mode(),
		Delegation:     srv.delegated,
		Xattrs:         a.xattrs,
		WritebackCache: a.writebackCache,
		PID:            os.Getpid(),
		Version:        version08,
	}
}

// diskID is the disk's id: itself for a dsk- id, else one made up from
// its name, stable across runs.
func diskID(disk string) string {
	name, _, _ := strings.Cut(disk, ":")
	if strings.HasPrefix(name, "dsk-") {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "dsk-" + hex.EncodeToString(sum[:8])
}

// print writes the status as `archil status` does without --json.
func (s statusInfo) print(w io.Writer) {
	for _, row := range [][2]string{
		{"Disk", s.Disk},
		{"Disk ID", s.DiskID},
		{"Mount point", s.MountPoint},
		{"State", s.State},
		{"Mounted at", s.MountedAt.Format(time.RFC3339)},
		{"Log level", s.LogLevel},
		{"Mode", s.Mode},
		{"Delegation", map[bool]string{true: "root checked out", false: "none"}[s.Delegation]},
		{"Xattrs", map[bool]string{true: "enabled", false: "disabled"}[s.Xattrs]},
		{"Writeback cache", map[bool]string{true: "requested", false: "off"}[s.WritebackCache]},
		{"Client PID", fmt.Sprint(s.PID)},
	} {
		fmt.Fprintf(w, "%-16s %s\n", row[0]+":", row[1])
	}
}
