package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// runUnmount asks the server of a mount point to flush everything (with
// --force: drop it) and unmount, and returns once that server has exited.
// It never unmounts or detaches anything itself.
func runUnmount(st *state, g gen, args []string) error {
	p, err := parseArgs(unmountFlags, g, args)
	if err != nil {
		return err
	}
	if p.on("help") {
		fmt.Print(usage)
		return nil
	}
	if err := p.positional("<MOUNTPOINT>"); err != nil {
		return err
	}
	mp, err := filepath.Abs(p.pos[0])
	if err != nil {
		return fmt.Errorf("mount point %q: %w", p.pos[0], err)
	}
	if st.knobOn(knobUnmountHang) {
		logf("warn", "hanging forever (knob %s)", knobUnmountHang)
		hang()
	}
	conn, err := st.dialCtl(mp)
	if err != nil {
		return noServer(mp, err)
	}
	defer conn.Close()
	req := "unmount\n"
	lag, _ := st.seconds(knobUnmountLag)
	switch {
	case p.on("force"):
		req, lag = "unmount force\n", 0
	case lag > 0:
		req = fmt.Sprintf("unmount %g\n", lag.Seconds())
	}
	if _, err := io.WriteString(conn, req); err != nil {
		return fmt.Errorf("failed to talk to the server of %s: %w", mp, err)
	}
	r := bufio.NewReader(conn)
	answer, err := readLine(r)
	if err != nil {
		// A server that dies while we connect (crash-after) closes its
		// FUSE device before its control socket: the mount is dead.
		if _, serr := os.Stat(mp); errors.Is(serr, syscall.ENOTCONN) {
			return noServer(mp, err)
		}
		return fmt.Errorf("server of %s went away without answering: %w", mp, err)
	}
	if msg, ok := strings.CutPrefix(answer, "error "); ok {
		return fmt.Errorf("unmount %s: %s", mp, msg)
	}
	n, ok := strings.CutPrefix(answer, "ok ")
	if !ok {
		return fmt.Errorf("unmount %s: unexpected answer %q", mp, answer)
	}
	if lag > 0 {
		logf("warn", "flushed %s files; returning before the mount leaves (knob %s)", n, knobUnmountLag)
		return nil
	}
	// The server closes the connection by exiting.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("waiting for the server of %s to exit: %w", mp, err)
	}
	if p.on("force") {
		logf("warn", "unmounted %s without flushing, %s pending changes lost", mp, n)
		return nil
	}
	logf("info", "unmounted %s, flushed %s files", mp, n)
	return nil
}

// noServer explains why nobody answered for mp.
func noServer(mp string, dialErr error) error {
	_, err := os.Stat(mp)
	switch {
	case errors.Is(err, syscall.ENOTCONN):
		return fmt.Errorf("%s: dead FUSE mount, no server answers: %w", mp, err)
	case err != nil:
		return fmt.Errorf("%s: not mounted: %w", mp, err)
	}
	return fmt.Errorf("%s: not mounted by archil-fake (no server answers: %w)", mp, dialErr)
}
