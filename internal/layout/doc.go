// Package layout has no code: its test keeps the module's imports pointing
// one way (DESIGN.md, Layout), so that a reader can tell from a package's
// place what a change to it may touch.
package layout
