package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The server's side of the control socket (protocol in ctl.go).

func (srv *server) acceptCtl(ln *ctlListener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go srv.handleCtl(conn)
	}
}

// handleCtl answers one control request.
func (srv *server) handleCtl(conn net.Conn) {
	r := bufio.NewReader(conn)
	req, err := readLine(r)
	if err != nil {
		conn.Close()
		return
	}
	verb, arg, _ := strings.Cut(req, " ")
	switch verb {
	case "unmount":
		srv.handleUnmount(conn, arg)
	case "status":
		answerJSON(conn, srv.status())
	case "metrics":
		answerJSON(conn, srv.stats.snapshot(srv.store, arg == "reset"))
	default:
		fmt.Fprintf(conn, "error unknown request %q\n", req)
		conn.Close()
	}
}

// answerJSON answers "ok <json>" and closes the connection.
func answerJSON(conn net.Conn, v any) {
	defer conn.Close()
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(conn, "error %v\n", err)
		return
	}
	fmt.Fprintf(conn, "ok %s\n", b)
}

// handleUnmount answers "unmount", "unmount force" or "unmount <lag>".
// After a successful unmount the connection stays open until the process
// exits, so the client knows the server is gone when it reads EOF.
func (srv *server) handleUnmount(conn net.Conn, arg string) {
	if lag, err := strconv.ParseFloat(arg, 64); err == nil && lag > 0 {
		// unmount-lag: answer once flushed, leave the mount later.
		n, err := srv.store.flushAll()
		if err != nil {
			fmt.Fprintf(conn, "error flush failed: %v\n", err)
			conn.Close()
			return
		}
		fmt.Fprintf(conn, "ok %d\n", n)
		conn.Close()
		time.Sleep(time.Duration(lag * float64(time.Second)))
		if _, err := srv.unmount(false); err != nil {
			logf("error", "unmount: %v", err)
		}
		srv.replyOnce.Do(func() { close(srv.replied) })
		return
	}
	n, err := srv.unmount(arg == "force")
	if err != nil {
		logf("error", "unmount: %v", err)
		fmt.Fprintf(conn, "error %v\n", err)
		conn.Close()
	} else {
		fmt.Fprintf(conn, "ok %d\n", n) // conn is left open on purpose
	}
	if srv.requested.Load() {
		// The mount is gone: let serve return.
		srv.replyOnce.Do(func() { close(srv.replied) })
	}
}

// unmount flushes every pending change, then unmounts, and returns how
// many it flushed; with force, how many it dropped.
func (srv *server) unmount(force bool) (int, error) {
	srv.unmountMu.Lock()
	defer srv.unmountMu.Unlock()
	if srv.requested.Load() {
		return 0, errors.New("already unmounted")
	}
	if srv.dropped.Load() {
		return 0, errors.New("not mounted")
	}
	if !srv.onTop() {
		return 0, errors.New("another mount covers the archil mount")
	}
	logf("info", "unmounting %s", srv.args.mountPoint)
	if force {
		return srv.unmountForce()
	}
	n, err := srv.store.flushAll()
	if err != nil {
		return n, fmt.Errorf("flush failed: %w", err)
	}
	srv.requested.Store(true)
	if err := srv.fuse.Unmount(); err != nil {
		srv.requested.Store(false)
		return n, fmt.Errorf("failed to unmount: %w", err)
	}
	// Files released while unmounting.
	m, err := srv.store.flushAll()
	if err != nil {
		return n + m, fmt.Errorf("flush failed: %w", err)
	}
	logf("info", "flushed %d files", n+m)
	return n + m, nil
}

// unmountForce unmounts without flushing: what is pending once the mount
// is gone is lost. A busy mount stays, and so do its pending changes.
func (srv *server) unmountForce() (int, error) {
	srv.requested.Store(true)
	if err := srv.fuse.Unmount(); err != nil {
		srv.requested.Store(false)
		return 0, fmt.Errorf("failed to unmount: %w", err)
	}
	n := srv.store.discard()
	logf("warn", "unmount --force: %d pending changes lost", n)
	return n, nil
}
