package tsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

type bytesFile struct{ *bytes.Reader }

func (bytesFile) Close() error { return nil }

// fuzzSeedFile is a small file with one key of every type, some multi-block.
func fuzzSeedFile(t testing.TB) []byte {
	rng := rand.New(rand.NewPCG(31, 32))
	var cols []column
	for i, typ := range allTypes {
		cols = append(cols, genColumn(rng, Key{Series: storage.SeriesID(i), Field: "v", Type: typ}, 1+rng.IntN(1200)))
	}
	path, _ := writeColumns(t, rng, t.TempDir(), cols)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

func requireCorruptionOnly(t *testing.T, err error) {
	t.Helper()
	var ce *storage.CorruptionError
	if err != nil && !errors.As(err, &ce) {
		t.Fatalf("got %v; want nil or *storage.CorruptionError", err)
	}
}

// FuzzOpen treats the input as a whole file: Open, then read every block. Nothing may panic, and every
// failure must be a CorruptionError (bytes cannot fail with I/O errors).
func FuzzOpen(f *testing.F) {
	seed := fuzzSeedFile(f)
	f.Add(seed)
	f.Add([]byte{})
	for _, g := range goldens {
		golden, err := os.ReadFile(g.tsm)
		require.NoError(f, err)
		for _, s := range [][]byte{golden, golden[:len(golden)-1], golden[:HeaderSize+FooterSize]} {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFile(t, data)
		// Checksums stop almost every mutation at Open; recompute them so the fuzzer reaches the
		// index, bloom and block decoders too.
		if fixed, ok := fixSectionCRCs(data); ok {
			if r := fuzzFile(t, fixed); r != nil {
				for _, e := range r.Entries() {
					for _, m := range e.Blocks {
						body := fixed[m.Offset : m.Offset+int64(m.Size)-crcSize]
						binary.BigEndian.PutUint32(fixed[m.Offset+int64(len(body)):], checksum(body))
					}
				}
				fuzzFile(t, fixed)
			}
		}
	})
}

// fixSectionCRCs rewrites the magic numbers, version and the footer, index and bloom checksums of a
// file whose footer offsets tile it, and reports whether it could.
func fixSectionCRCs(in []byte) ([]byte, bool) {
	if len(in) < HeaderSize+FooterSize {
		return nil, false
	}
	data := bytes.Clone(in)
	binary.BigEndian.PutUint32(data, MagicNumber)
	version := data[4] // keep a known version: each has its own decoders
	if version < FormatV1 || version > FormatV4 {
		version = FormatVersion
	}
	data[4] = version
	ft := data[len(data)-FooterSize:]
	footOff := uint64(len(data) - FooterSize)
	io, il, bl := binary.BigEndian.Uint64(ft), binary.BigEndian.Uint64(ft[8:]), uint64(binary.BigEndian.Uint32(ft[16:]))
	if io < HeaderSize || il < crcSize || bl < crcSize || io > footOff || il > footOff-io || io+il+bl != footOff {
		return nil, false
	}
	for _, sec := range [][]byte{data[io : io+il], data[io+il : footOff]} {
		binary.BigEndian.PutUint32(sec[len(sec)-crcSize:], checksum(sec[:len(sec)-crcSize]))
	}
	ft[20], ft[21], ft[22], ft[23] = 0, 0, 0, version
	binary.BigEndian.PutUint32(ft[24:], checksum(ft[:24]))
	binary.BigEndian.PutUint32(ft[28:], MagicNumber)
	return data, true
}

var fuzzCopies atomic.Int64

// fuzzCopyPath is a fresh file name in the system temp dir (t.TempDir per input is too slow).
func fuzzCopyPath() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("chronogo-fuzz-copy-%d-%d.tsm", os.Getpid(), fuzzCopies.Add(1)))
}

// fuzzFile opens data as a file and reads everything; it returns the reader if Open succeeded.
func fuzzFile(t *testing.T, data []byte) *Reader {
	r, err := openReaderAt("fuzz.tsm", bytesFile{bytes.NewReader(data)}, int64(len(data)))
	requireCorruptionOnly(t, err)
	if err != nil {
		return nil
	}
	{
		var b Block
		for _, e := range r.Entries() {
			for _, m := range e.Blocks {
				requireCorruptionOnly(t, r.ReadBlock(m, e.Key.Type, &b))
				_, err := r.ReadTimes(m, nil)
				requireCorruptionOnly(t, err)
				if m.HasHourSums() {
					requireCorruptionOnly(t, r.ReadHourSums([]BlockMeta{m}, e.Key.Type, func(*BlockMeta, []HourSum) error { return nil }))
				}
			}
			r.Find(e.Key)
			r.SeriesEntries(e.Key.Series)
			r.MayContain(e.Key.Series)
		}
		requireCorruptionOnly(t, r.Verify())
		if err := r.SeriesKeys(func(storage.SeriesID, []byte) error { return nil }); !errors.Is(err, ErrNoSeriesKeys) {
			requireCorruptionOnly(t, err)
		}
		_ = r.DumpIndex(io.Discard)
		// Copying blocks renumbers version ids: it must not panic on what Open accepted.
		if w, err := NewWriter(fuzzCopyPath(), WriterOptions{}); err == nil {
			for _, e := range r.Entries() {
				for _, m := range e.Blocks {
					_ = w.CopyBlock(e.Key, m, r)
				}
			}
			_ = w.Abort()
		}
	}
	return r
}

// FuzzDecodeBlock feeds a block body (without CRC) with a fuzzed meta to the decoder. A body that
// decodes must give exactly Count points within the meta's ranges, and must survive a re-encode.
func FuzzDecodeBlock(f *testing.F) {
	data := fuzzSeedFile(f)
	r, err := openReaderAt("seed.tsm", bytesFile{bytes.NewReader(data)}, int64(len(data)))
	require.NoError(f, err)
	for _, e := range r.Entries() {
		for _, m := range e.Blocks {
			raw, err := r.ReadRawBlock(m)
			require.NoError(f, err)
			f.Add(raw[:len(raw)-crcSize], byte(e.Key.Type), uint16(m.Agg.Count), m.MinTime, m.MaxTime,
				m.MinVersion, m.MaxVersion, m.MinSeq, m.MaxSeq, m.TimesImplied(), m.HasHourSums(), m.Agg.Sum)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, typ byte, count uint16, minT, maxT int64, minV, maxV, minS, maxS uint64, implied, sums bool, sum int64) {
		m := BlockMeta{MinTime: minT, MaxTime: maxT, MinVersion: minV, MaxVersion: maxV, MinSeq: minS, MaxSeq: maxS,
			Agg: Agg{Count: uint32(count), Sum: sum}, timesImplied: implied, hourSums: sums}
		ft := storage.FieldType(typ)
		var b Block
		err := decodeBlockBody(&m, ft, body, &b, false)
		if sums {
			// the hour-sums reader must not panic on any body; when the block decodes, its sums
			// (if they parse) hold every point
			hs, herr := readBlockHourSums(nil, &m, ft.Class(), body, &hourScratch{})
			if herr == nil && err == nil {
				n := int64(0)
				for _, h := range hs {
					n += h.Count
				}
				require.Equal(t, int64(count), n)
			}
		}

		// The CRC-checked path agrees with the body decoder.
		raw := binary.BigEndian.AppendUint32(bytes.Clone(body), checksum(body))
		m.Size = uint32(len(raw))
		var b2 Block
		err2 := DecodeBlock(m, ft, raw, &b2)
		require.Equal(t, err == nil, err2 == nil, "body: %v, whole: %v", err, err2)
		if err != nil {
			return
		}
		n := int(count)
		require.Len(t, b.Times, n)
		require.Len(t, b.Versions, n)
		require.Len(t, b.Seqs, n)
		require.Equal(t, n, b.Values.Len())
		require.Equal(t, minT, b.Times[0])
		require.Equal(t, maxT, b.Times[n-1])
		for i := range b.Times {
			require.True(t, i == 0 || b.Times[i] > b.Times[i-1])
			require.True(t, b.Versions[i] >= minV && b.Versions[i] <= maxV)
			require.True(t, b.Seqs[i] >= minS && b.Seqs[i] <= maxS)
		}
		enc, m3, err := EncodeBlock(nil, b.Times, &b.Values, b.Versions, b.Seqs)
		require.NoError(t, err)
		var b3 Block
		require.NoError(t, DecodeBlock(m3, ft, enc, &b3))
		require.Equal(t, b.Times, b3.Times)
		require.Equal(t, b.Versions, b3.Versions)
		require.Equal(t, b.Seqs, b3.Seqs)
		for i := 0; i < n; i++ {
			require.True(t, storage.EqualAt(&b.Values, i, &b3.Values, i))
		}
	})
}
