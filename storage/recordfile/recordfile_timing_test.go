package recordfile

import (
	"path/filepath"
	"testing"
)

func BenchmarkAppendDecodeRecord(b *testing.B) {
	payload := make([]byte, 4<<10)
	buf := make([]byte, 0, FrameSize+len(payload))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRecord(buf[:0], payload)
		if _, _, err := DecodeRecord(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterAppend(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "f"), testMagic)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	payload := make([]byte, 4<<10)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Append(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScan(b *testing.B) {
	path := filepath.Join(b.TempDir(), "f")
	w, err := Create(path, testMagic)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 4<<10)
	const n = 1024
	for range n {
		if _, err := w.Append(payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n * int64(FrameSize+len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Scan(path, testMagic, nil); err != nil {
			b.Fatal(err)
		}
	}
}
