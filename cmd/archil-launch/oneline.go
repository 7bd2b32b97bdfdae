package main

import "strings"

// oneLine keeps every error on one line of the journal, whatever a child's
// stderr or a path put into it.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " | ", "\n", " | ", "\r", " | ").Replace(strings.TrimRight(s, "\n"))
}
