package vfs

import (
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// File is what storage writes through: an *os.File, or one with injected faults.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Seeker
	io.Closer
	Truncate(size int64) error
	Sync() error
	Stat() (os.FileInfo, error)
	Fd() uintptr
	Name() string
}

// OpenFile is os.OpenFile, through the faults installed with Inject (none in production: then it
// returns the *os.File itself).
func OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if rules := active.Load(); rules != nil {
		for _, r := range *rules {
			if strings.Contains(name, r.PathContains) {
				return &faultyFile{File: f, rule: r}, nil
			}
		}
	}
	return f, nil
}

// Op is a file operation a Fault targets.
type Op int

// The operations faults can target.
const (
	OpWrite Op = iota // Write: the first call that would pass After bytes writes what fits and fails
	OpSync            // Sync (fsync/fdatasync)
	OpTruncate
)

// Fault fails an operation on files opened (after Inject) whose path contains PathContains.
type Fault struct {
	PathContains string
	Op           Op
	// After is how many bytes writes may still write, across every matching file, before they
	// fail (OpWrite); other ops fail at once.
	After int64
	// Err is the error (default ENOSPC for writes, EIO otherwise).
	Err syscall.Errno

	mu      sync.Mutex
	written int64
	off     atomic.Bool // Clear: the disk has space again
}

// Clear stops the fault (space was freed); files opened under it behave normally from now on.
func (f *Fault) Clear() { f.off.Store(true) }

// Allow lets writes write n more bytes from now before they fail (and re-arms a cleared fault).
func (f *Fault) Allow(n int64) {
	f.mu.Lock()
	f.After = f.written + n
	f.mu.Unlock()
	f.off.Store(false)
}

var active atomic.Pointer[[]*Fault]

// Inject installs faults for files opened from now on and returns a function that removes them.
// Faults are process-wide: tests that inject must not run in parallel with other storage tests.
func Inject(faults ...*Fault) (remove func()) {
	list := append([]*Fault(nil), faults...)
	active.Store(&list)
	return func() { active.Store(nil) }
}

type faultyFile struct {
	*os.File
	rule *Fault
}

func (f *faultyFile) errno(def syscall.Errno) syscall.Errno {
	if f.rule.Err != 0 {
		return f.rule.Err
	}
	return def
}

func (f *faultyFile) Write(p []byte) (int, error) {
	r := f.rule
	if r.Op != OpWrite || r.off.Load() {
		return f.File.Write(p)
	}
	r.mu.Lock()
	room := r.After - r.written
	n := int64(len(p))
	if n <= room {
		r.written += n
		r.mu.Unlock()
		return f.File.Write(p)
	}
	r.written = r.After
	r.mu.Unlock()
	m := 0
	if room > 0 {
		m, _ = f.File.Write(p[:room]) // a short write, as a filling disk gives
	}
	return m, &os.PathError{Op: "write", Path: f.Name(), Err: f.errno(syscall.ENOSPC)}
}

func (f *faultyFile) Sync() error {
	if f.rule.Op == OpSync && !f.rule.off.Load() {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: f.errno(syscall.EIO)}
	}
	return f.File.Sync()
}

func (f *faultyFile) Truncate(size int64) error {
	if f.rule.Op == OpTruncate && !f.rule.off.Load() {
		return &os.PathError{Op: "truncate", Path: f.Name(), Err: f.errno(syscall.EIO)}
	}
	return f.File.Truncate(size)
}
