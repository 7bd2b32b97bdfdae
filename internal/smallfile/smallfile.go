// Package smallfile reads a small regular file (a mount config, a
// credential) without letting a FIFO or device planted at its path hang
// the reader or feed it endless data.
package smallfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Read returns the content of the regular file at path, at most max bytes.
// Open errors are returned as they are (*fs.PathError), so a caller can
// test for fs.ErrNotExist; the others say what is wrong.
func Read(path string, max int64) ([]byte, fs.FileInfo, error) {
	// O_NONBLOCK: opening a FIFO with no writer would block forever; the
	// regular-file check below then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("not a regular file (%s)", Kind(info.Mode()))
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) > max {
		return nil, nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, info, nil
}

// Kind names the kind of file m describes, for messages.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// Cause drops the path from an *fs.PathError, for a caller that names the
// path itself (once, quoted).
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
