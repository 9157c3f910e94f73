package recordfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chronogo/chronogo/storage/vfs"
)

// writeBufferSize is the Writer's buffer; records larger than it are written straight through.
const writeBufferSize = 64 << 10

// Writer appends records to a record file through a buffer.
//
// A Writer is not safe for concurrent use, except that SyncData may run concurrently with the
// other methods (it only fsyncs what earlier Flush calls handed to the OS).
type Writer struct {
	path  string
	f     vfs.File
	bw    *bufio.Writer
	size  int64 // logical size: bytes on disk plus bytes in bw
	frame [FrameSize]byte
}

// Create creates a new record file at path (it must not exist), writes the header for magic,
// fsyncs the file and its directory, and returns a Writer positioned after the header.
func Create(path string, magic [4]byte) (*Writer, error) {
	f, err := vfs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create record file: %w", err)
	}
	w, err := initFile(f, path, magic)
	if err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		_ = f.Close()
		return nil, err
	}
	return w, nil
}

// initFile writes the header to the empty file f and fsyncs it.
func initFile(f vfs.File, path string, magic [4]byte) (*Writer, error) {
	var hdr [HeaderSize]byte
	if _, err := f.Write(appendHeader(hdr[:0], magic)); err != nil {
		return nil, fmt.Errorf("write record file header %s: %w", path, err)
	}
	if err := fdatasync(f); err != nil {
		return nil, fmt.Errorf("sync record file %s: %w", path, err)
	}
	return newWriter(f, path, HeaderSize), nil
}

func newWriter(f vfs.File, path string, size int64) *Writer {
	return &Writer{path: path, f: f, bw: bufio.NewWriterSize(f, writeBufferSize), size: size}
}

// OpenAppend opens the existing record file at path for appending at validEnd, the value Scan
// returned. Bytes after validEnd (a torn tail) are truncated and the truncation is fsynced. If
// validEnd < HeaderSize the file is reset to a fresh header. The header must match magic.
func OpenAppend(path string, magic [4]byte, validEnd int64) (*Writer, error) {
	f, err := vfs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open record file for append: %w", err)
	}
	w, err := openAppend(f, path, magic, validEnd)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return w, nil
}

func openAppend(f vfs.File, path string, magic [4]byte, validEnd int64) (*Writer, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat record file %s: %w", path, err)
	}
	size := st.Size()
	if validEnd > size {
		return nil, fmt.Errorf("open record file %s for append: valid end got %d; want <= file size %d", path, validEnd, size)
	}
	if validEnd < HeaderSize {
		if err := f.Truncate(0); err != nil {
			return nil, fmt.Errorf("truncate record file %s: %w", path, err)
		}
		return initFile(f, path, magic)
	}
	var hdr [HeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("read record file header %s: %w", path, err)
	}
	if off, err := checkHeader(hdr[:], magic); err != nil {
		return nil, corruption(path, off, err)
	}
	if size > validEnd {
		if err := f.Truncate(validEnd); err != nil {
			return nil, fmt.Errorf("truncate record file %s at %d: %w", path, validEnd, err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("sync record file %s after truncation: %w", path, err)
		}
	}
	if _, err := f.Seek(validEnd, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek record file %s: %w", path, err)
	}
	return newWriter(f, path, validEnd), nil
}

// Rewind discards buffered records and truncates the file to size (an earlier Size whose bytes
// were all flushed): after a write failed for lack of space, the file ends at its last whole
// record again and appending can resume once there is space.
func (w *Writer) Rewind(size int64) error {
	if size < HeaderSize || size > w.size {
		return fmt.Errorf("rewind %s to %d: want %d..%d", w.path, size, HeaderSize, w.size)
	}
	w.bw.Reset(w.f)
	if err := w.f.Truncate(size); err != nil {
		return fmt.Errorf("rewind %s: truncate to %d: %w", w.path, size, err)
	}
	if _, err := w.f.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("rewind %s: seek to %d: %w", w.path, size, err)
	}
	w.size = size
	return nil
}

// Path returns the file's path.
func (w *Writer) Path() string { return w.path }

// Size returns the file size including buffered, not yet flushed records.
func (w *Writer) Size() int64 { return w.size }

// Append buffers payload as one record and returns the record's offset in the file.
func (w *Writer) Append(payload []byte) (offset int64, err error) {
	return w.AppendParts(payload, nil)
}

// AppendParts is Append with the payload given in two parts (head followed by body), so callers
// can add a fixed prefix without copying the body.
func (w *Writer) AppendParts(head, body []byte) (offset int64, err error) {
	n := uint64(len(head)) + uint64(len(body))
	if n > MaxRecordSize {
		return 0, fmt.Errorf("append to %s: payload got %d bytes; want <= %d: %w", w.path, n, MaxRecordSize, ErrTooLarge)
	}
	binary.LittleEndian.PutUint32(w.frame[0:4], uint32(n))
	binary.LittleEndian.PutUint32(w.frame[4:8], recordCRC(w.frame[0:4], head, body))
	offset = w.size
	for _, b := range [...][]byte{w.frame[:], head, body} {
		if _, err := w.bw.Write(b); err != nil {
			return 0, fmt.Errorf("append to %s: %w", w.path, err)
		}
	}
	w.size += FrameSize + int64(n)
	return offset, nil
}

// Flush writes buffered records to the OS (they survive a process crash, not a power loss).
func (w *Writer) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("flush %s: %w", w.path, err)
	}
	return nil
}

// Sync flushes buffered records and fsyncs the file data (fdatasync on Linux).
func (w *Writer) Sync() error {
	if err := w.Flush(); err != nil {
		return err
	}
	return w.SyncData()
}

// SyncData fsyncs what earlier Flush calls wrote, without touching the buffer. It is the one method
// that may run concurrently with the others (used for group commit).
func (w *Writer) SyncData() error {
	if err := fdatasync(w.f); err != nil {
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	return nil
}

// Close flushes and closes the file. It does not fsync: call Sync first when the records must be
// durable.
func (w *Writer) Close() error {
	err := w.Flush()
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", w.path, cerr)
	}
	return err
}

// SyncDir fsyncs directory dir so that file creations, renames and removals in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir for sync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// WriteFileAtomic replaces path with a record file holding payloads: it writes path+".tmp", fsyncs
// it, renames it over path and fsyncs the directory. A crash leaves either the old or the new file.
func WriteFileAtomic(path string, magic [4]byte, payloads [][]byte) (err error) {
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", tmp, err)
	}
	f, err := vfs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write record file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	var hdr [HeaderSize]byte
	if _, err := f.Write(appendHeader(hdr[:0], magic)); err != nil {
		return fmt.Errorf("write record file header %s: %w", tmp, err)
	}
	w := newWriter(f, tmp, HeaderSize)
	for _, p := range payloads {
		if _, err := w.Append(p); err != nil {
			return err
		}
	}
	if err := w.Sync(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write record file: %w", err)
	}
	return SyncDir(filepath.Dir(path))
}
