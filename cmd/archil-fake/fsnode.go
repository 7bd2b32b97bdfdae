package main

import (
	"context"
	"path"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a go-fuse loopback node that tells the store about every change
// made through the mount. Reads go straight to the cache directory.
type node struct {
	fs.LoopbackNode
	*fsys
}

// fsys is what every node of one mount shares.
type fsys struct {
	store *store
	stats *metrics
	// readOnly refuses every change with EROFS. The kernel refuses them
	// first on a read-only mount; this holds even if the mount is made
	// writable under us.
	readOnly bool
}

// writable returns EROFS, counted, if the mount is read-only.
func (f *fsys) writable() syscall.Errno {
	if f.readOnly {
		f.stats.refused.Add(1)
		return syscall.EROFS
	}
	return 0
}

// newRoot returns the root node of a loopback over dir.
func newRoot(dir string, sys *fsys) (fs.InodeEmbedder, error) {
	var s syscall.Stat_t
	if err := syscall.Stat(dir, &s); err != nil {
		return nil, err
	}
	root := &fs.LoopbackRoot{Path: dir, Dev: uint64(s.Dev)}
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, fsys: sys}
	}
	root.RootNode = root.NewNode(root, nil, "", &s)
	return root.RootNode, nil
}

// rel is the cache-relative path of the child name ("" for the node).
func (n *node) rel(name string) string {
	return path.Join(n.Path(nil), name)
}

// report tells the store about a change if the operation succeeded.
func (n *node) report(errno syscall.Errno, rels ...string) syscall.Errno {
	if errno != 0 {
		return errno
	}
	n.stats.metadataOps.Add(1)
	for _, r := range rels {
		if err := n.store.changed(r); err != nil {
			return syscall.EIO
		}
	}
	return 0
}

func (n *node) wrap(fh fs.FileHandle) fs.FileHandle {
	if lf, ok := fh.(*fs.LoopbackFile); ok {
		return &file{LoopbackFile: lf, node: n}
	}
	return fh
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if errno := n.writable(); errno != 0 {
		return nil, nil, 0, errno
	}
	in, fh, ff, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno = n.report(errno, n.rel(name)); errno != 0 {
		return in, fh, ff, errno
	}
	return in, n.childFile(in, fh), ff, 0
}

// childFile wraps fh so that its writes are reported for the child node.
func (n *node) childFile(in *fs.Inode, fh fs.FileHandle) fs.FileHandle {
	if child, ok := in.Operations().(*node); ok {
		return child.wrap(fh)
	}
	return fh
}

func (n *node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if errno := n.writable(); errno != 0 {
		return nil, nil, 0, errno
	}
	in, fh, ff, errno := n.LoopbackNode.Tmpfile(ctx, flags, mode, out)
	if errno != 0 {
		return in, fh, ff, errno
	}
	return in, n.childFile(in, fh), ff, 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0 {
		if errno := n.writable(); errno != 0 {
			return nil, 0, errno
		}
	}
	fh, ff, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return fh, ff, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		if errno := n.report(0, n.rel("")); errno != 0 {
			return fh, ff, errno
		}
	}
	return n.wrap(fh), ff, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.writable(); errno != 0 {
		return nil, errno
	}
	in, errno := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	return in, n.report(errno, n.rel(name))
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.writable(); errno != 0 {
		return nil, errno
	}
	in, errno := n.LoopbackNode.Mknod(ctx, name, mode, rdev, out)
	return in, n.report(errno, n.rel(name))
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.writable(); errno != 0 {
		return nil, errno
	}
	in, errno := n.LoopbackNode.Symlink(ctx, target, name, out)
	return in, n.report(errno, n.rel(name))
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.writable(); errno != 0 {
		return nil, errno
	}
	in, errno := n.LoopbackNode.Link(ctx, target, name, out)
	return in, n.report(errno, n.rel(name))
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if errno := n.writable(); errno != 0 {
		return errno
	}
	return n.report(n.LoopbackNode.Rmdir(ctx, name), n.rel(name))
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	if errno := n.writable(); errno != 0 {
		return errno
	}
	return n.report(n.LoopbackNode.Unlink(ctx, name), n.rel(name))
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if errno := n.writable(); errno != 0 {
		return errno
	}
	errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	to := path.Join(newParent.EmbeddedInode().Path(nil), newName)
	return n.report(errno, n.rel(name), to)
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := n.writable(); errno != 0 {
		return errno
	}
	return n.report(n.LoopbackNode.Setattr(ctx, f, in, out), n.rel(""))
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if errno := n.writable(); errno != 0 {
		return errno
	}
	return n.report(n.LoopbackNode.Setxattr(ctx, attr, data, flags), n.rel(""))
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if errno := n.writable(); errno != 0 {
		return errno
	}
	return n.report(n.LoopbackNode.Removexattr(ctx, attr), n.rel(""))
}

// file is an open file of the loopback. Writes mark it dirty; a dirty file
// is reported to the store at flush (close), fsync and release.
type file struct {
	*fs.LoopbackFile
	node *node

	mu    sync.Mutex
	dirty bool
}

// PassthroughFd refuses FUSE passthrough: writes must go through us.
func (f *file) PassthroughFd() (int, bool) { return 0, false }

func (f *file) setDirty(errno syscall.Errno) syscall.Errno {
	if errno == 0 {
		f.mu.Lock()
		f.dirty = true
		f.mu.Unlock()
	}
	return errno
}

// report hands a dirty file to the store.
func (f *file) report(errno syscall.Errno) syscall.Errno {
	if errno != 0 {
		return errno
	}
	f.mu.Lock()
	dirty := f.dirty
	f.dirty = false
	f.mu.Unlock()
	if !dirty {
		return 0
	}
	return f.node.report(0, f.node.rel(""))
}

func (f *file) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	res, errno := f.LoopbackFile.Read(ctx, dest, off)
	if errno == 0 {
		f.node.stats.reads.Add(1)
		f.node.stats.readBytes.Add(int64(res.Size()))
	}
	return res, errno
}

// wrote counts a write and marks the file dirty.
func (f *file) wrote(n uint32, errno syscall.Errno) (uint32, syscall.Errno) {
	if errno == 0 {
		f.node.stats.writes.Add(1)
		f.node.stats.writeBytes.Add(int64(n))
	}
	return n, f.setDirty(errno)
}

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if errno := f.node.writable(); errno != 0 {
		return 0, errno
	}
	return f.wrote(f.LoopbackFile.Write(ctx, data, off))
}

func (f *file) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	if errno := f.node.writable(); errno != 0 {
		return 0, errno
	}
	return f.wrote(f.LoopbackFile.Writev(ctx, data, off))
}

func (f *file) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := f.node.writable(); errno != 0 {
		return errno
	}
	return f.setDirty(f.LoopbackFile.Setattr(ctx, in, out))
}

func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	if errno := f.node.writable(); errno != 0 {
		return errno
	}
	return f.setDirty(f.LoopbackFile.Allocate(ctx, off, size, mode))
}

func (f *file) Flush(ctx context.Context) syscall.Errno {
	return f.report(f.LoopbackFile.Flush(ctx))
}

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return f.report(f.LoopbackFile.Fsync(ctx, flags))
}

func (f *file) Release(ctx context.Context) syscall.Errno {
	f.report(0)
	return f.LoopbackFile.Release(ctx)
}
