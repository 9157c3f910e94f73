package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/tsm"
	"github.com/chronogo/chronogo/storage/wal"
)

// A file kind: what its first four bytes (its magic) say it is, and the inspect command that
// reads it.
type fileKind struct{ name, command string }

var (
	kindTSM           = fileKind{"TSM file", "dumptsm"}
	kindWAL           = fileKind{"WAL segment", "dumpwal"}
	kindSummary       = fileKind{"summary file", "dumpsummary"}
	kindIndexLog      = fileKind{"series index log", "verify (on its vnode directory)"}
	kindIndexSnapshot = fileKind{"series index snapshot", "verify (on its vnode directory)"}
)

// kindOf reads path's magic; unknown magics are named by their bytes.
func kindOf(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileKind{}, err
	}
	defer f.Close()
	var m [4]byte
	if _, err := io.ReadFull(f, m[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fileKind{name: "file too short to have a magic number"}, nil
		}
		return fileKind{}, err
	}
	switch u := binary.BigEndian.Uint32(m[:]); {
	case u == tsm.MagicNumber:
		return kindTSM, nil
	case m == wal.Magic:
		return kindWAL, nil
	case m == summary.Magic:
		return kindSummary, nil
	case u == index.LogMagic:
		return kindIndexLog, nil
	case u == index.SnapshotMagic:
		return kindIndexSnapshot, nil
	default:
		return fileKind{name: fmt.Sprintf("file of no ChronoGo kind (first bytes %#08x)", u)}, nil
	}
}

// expectKind fails with a one-line reason when path is not a want file: it names what the file
// is and which command reads it.
func expectKind(path string, want fileKind) error {
	got, err := kindOf(path)
	if err != nil {
		return err
	}
	if got == want {
		return nil
	}
	if got.command != "" {
		return fmt.Errorf("%s is a %s, not a %s: read it with chronogo inspect %s", path, got.name, want.name, got.command)
	}
	return fmt.Errorf("%s is a %s, not a %s", path, got.name, want.name)
}
