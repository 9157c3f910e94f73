package mql

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"syscall"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// A sort run is a temporary file of documents in sort order, written once and read once:
//
//	record := docLen uint32 LE | crc32c(doc) uint32 LE | doc [docLen]byte
//
// The file is unlinked as soon as it is created, so a crash leaves nothing behind; the open
// descriptor keeps it alive until the run is closed. A record that fails its checksum or length
// check fails the query with the file and offset; it is never skipped.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxRunDoc bounds a record's length: documents are at most 16 MiB plus what a stage may add.
const maxRunDoc = 64 << 20

type runWriter struct {
	f    *os.File
	w    *bufio.Writer
	hdr  [8]byte
	size int64
}

func createRun(dir string) (*runWriter, error) {
	f, err := os.CreateTemp(dir, "sort-*.run")
	if err != nil {
		return nil, spillErr("create sort run", err)
	}
	if err := os.Remove(f.Name()); err != nil { // anonymous from now on
		_ = f.Close()
		return nil, spillErr("unlink sort run", err)
	}
	return &runWriter{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (r *runWriter) add(doc []byte) error {
	binary.LittleEndian.PutUint32(r.hdr[0:4], uint32(len(doc)))
	binary.LittleEndian.PutUint32(r.hdr[4:8], crc32.Checksum(doc, castagnoli))
	if _, err := r.w.Write(r.hdr[:]); err != nil {
		return spillErr("write sort run "+r.f.Name(), err)
	}
	if _, err := r.w.Write(doc); err != nil {
		return spillErr("write sort run "+r.f.Name(), err)
	}
	r.size += int64(len(doc)) + 8
	return nil
}

// finish flushes the run and returns a reader positioned at its first record.
func (r *runWriter) finish() (*runReader, error) {
	if err := r.w.Flush(); err != nil {
		_ = r.f.Close()
		return nil, spillErr("write sort run "+r.f.Name(), err)
	}
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		_ = r.f.Close()
		return nil, spillErr("rewind sort run "+r.f.Name(), err)
	}
	return &runReader{f: r.f, r: bufio.NewReaderSize(r.f, 64<<10), size: r.size}, nil
}

func (r *runWriter) abort() { _ = r.f.Close() }

type runReader struct {
	f    *os.File
	r    *bufio.Reader
	off  int64
	size int64
}

// next returns the next document (a new slice), or io.EOF after the last.
func (r *runReader) next() ([]byte, error) {
	if r.off == r.size {
		return nil, io.EOF
	}
	var hdr [8]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		return nil, r.damaged("header", err)
	}
	n := binary.LittleEndian.Uint32(hdr[0:4])
	if n < 5 || n > maxRunDoc || int64(n)+8 > r.size-r.off {
		return nil, r.damaged(fmt.Sprintf("length %d", n), nil)
	}
	doc := make([]byte, n)
	if _, err := io.ReadFull(r.r, doc); err != nil {
		return nil, r.damaged("document", err)
	}
	if crc32.Checksum(doc, castagnoli) != binary.LittleEndian.Uint32(hdr[4:8]) {
		return nil, r.damaged("checksum mismatch", nil)
	}
	r.off += int64(n) + 8
	return doc, nil
}

func (r *runReader) damaged(what string, err error) error {
	msg := fmt.Sprintf("sort run %s damaged at offset %d: %s", r.f.Name(), r.off, what)
	if err != nil {
		msg += ": " + err.Error()
	}
	return errf(mongoerr.InternalError, "%s", msg)
}

func (r *runReader) close() { _ = r.f.Close() }

// spillErr turns a temporary-file error into the client's error: a full disk is OutOfDiskSpace.
func spillErr(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return errf(mongoerr.OutOfDiskSpace, "%s: %v", what, err)
	}
	return errf(mongoerr.InternalError, "%s: %v", what, err)
}
