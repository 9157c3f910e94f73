package recordfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"
)

// modelRecord builds a record independently of the code under test: LE length, CRC32C over the
// length bytes and payload (computed with a freshly made table), payload.
func modelRecord(payload []byte) []byte {
	tab := crc32.MakeTable(crc32.Castagnoli)
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
	c := crc32.Checksum(append(append([]byte{}, b...), payload...), tab)
	b = binary.LittleEndian.AppendUint32(b, c)
	return append(b, payload...)
}

var recordCases = []struct {
	name    string
	payload []byte
}{
	{"empty", []byte{}},
	{"one byte", []byte{0x00}},
	{"text", []byte("hello, chronogo")},
	{"binary", []byte{0xff, 0x00, 0x7f, 0x80, 0x01}},
	{"4KiB", bytes.Repeat([]byte{0xab, 0xcd}, 2048)},
}

func TestAppendRecordMatchesModel(t *testing.T) {
	for _, tc := range recordCases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("prefix")
			got := AppendRecord(append([]byte{}, prefix...), tc.payload)
			require.Equal(t, append(append([]byte{}, prefix...), modelRecord(tc.payload)...), got)

			payload, n, err := DecodeRecord(append(got[len(prefix):], "trailing"...))
			require.NoError(t, err)
			require.Equal(t, FrameSize+len(tc.payload), n)
			require.Equal(t, tc.payload, payload)
		})
	}
}

func TestKnownCRC(t *testing.T) {
	// CRC32C("") framed: length 0 -> crc of 4 zero bytes, the well-known value 0x48674bc7.
	// This also shows a zero-filled frame (crc field 0) never passes.
	require.Equal(t, []byte{0, 0, 0, 0, 0xc7, 0x4b, 0x67, 0x48}, AppendRecord(nil, nil))
	_, _, err := DecodeRecord(make([]byte, 16))
	require.ErrorIs(t, err, ErrChecksum)
}

func TestRecordQuick(t *testing.T) {
	f := func(payloads [][]byte) bool {
		var buf []byte
		for _, p := range payloads {
			buf = AppendRecord(buf, p)
		}
		for _, p := range payloads {
			got, n, err := DecodeRecord(buf)
			if err != nil || !bytes.Equal(got, p) || n != FrameSize+len(p) {
				return false
			}
			buf = buf[n:]
		}
		return len(buf) == 0
	}
	require.NoError(t, quick.Check(f, nil))
}

func TestDecodeRecordErrors(t *testing.T) {
	good := AppendRecord(nil, []byte("payload"))
	huge := binary.LittleEndian.AppendUint32(nil, MaxRecordSize+1)
	huge = append(huge, 0, 0, 0, 0)
	for _, tc := range []struct {
		name string
		src  []byte
		want error
	}{
		{"nil", nil, io.ErrUnexpectedEOF},
		{"short frame", good[:FrameSize-1], io.ErrUnexpectedEOF},
		{"short payload", good[:len(good)-1], io.ErrUnexpectedEOF},
		{"too large", huge, ErrTooLarge},
		{"max uint32 length", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, ErrTooLarge},
		{"bad crc", flip(good, 5), ErrChecksum},
		{"bad length", flip(good, 0), ErrChecksum}, // length 6 instead of 7: still fits, CRC covers it
		{"bad payload", flip(good, FrameSize+2), ErrChecksum},
		{"zeros", make([]byte, 64), ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, n, err := DecodeRecord(tc.src)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, p)
			require.Zero(t, n)
		})
	}
	// Every single-byte flip is detected.
	for i := range good {
		_, _, err := DecodeRecord(flip(good, i))
		require.Error(t, err, "flip at %d", i)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0x01
	return c
}

func FuzzDecodeRecord(f *testing.F) {
	for _, tc := range recordCases {
		f.Add(AppendRecord(nil, tc.payload))
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add(make([]byte, 32))
	f.Add(flip(AppendRecord(nil, []byte("payload")), 0))
	f.Fuzz(func(t *testing.T, src []byte) {
		payload, n, err := DecodeRecord(src)
		if err != nil {
			require.Nil(t, payload)
			require.Zero(t, n)
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		require.LessOrEqual(t, n, len(src))
		require.Equal(t, FrameSize+len(payload), n)
		require.Equal(t, modelRecord(payload), src[:n], "decoded record does not re-encode to its bytes (CRC)")
	})
}
