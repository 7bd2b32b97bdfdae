// Command notifyd is the demo's stand-in for systemd's notify socket: it
// binds a unixgram socket, prints every sd_notify message it receives,
// and creates a file when READY=1 arrives so the demo script can wait.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
)

func main() {
	sock := flag.String("socket", "", "socket `path` to bind")
	ready := flag.String("ready-file", "", "`file` to create on READY=1")
	flag.Parse()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: *sock, Net: "unixgram"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "notifyd: error: %v\n", err)
		os.Exit(1)
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			fmt.Fprintf(os.Stderr, "notifyd: error: %v\n", err)
			os.Exit(1)
		}
		msg := string(buf[:n])
		fmt.Printf("    [systemd notify] %s\n", strings.ReplaceAll(msg, "\n", " "))
		if strings.Contains(msg, "READY=1") && *ready != "" {
			if err := os.WriteFile(*ready, nil, 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "notifyd: error: %v\n", err)
			}
		}
	}
}
