package tsm

import (
	"bufio"
	"bytes"
	"cmp"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/tsm/codec"
)

// cpuFile is the TSBS cpu-only data set made by `make bench` (chronogo-bench gen --hosts 100
// -duration 24h); CHRONOGO_CPU_DATA overrides the path.
var cpuFile = func() string {
	if p := os.Getenv("CHRONOGO_CPU_DATA"); p != "" {
		return p
	}
	return "/tmp/chronogo-bench/cpu-100h.lp"
}()

type cpuData struct {
	fields []string           // sorted
	hosts  []storage.SeriesID // sorted; one series per host
	times  [][]int64          // per host
	vals   [][][]int64        // per host, per field
}

var (
	cpuOnce sync.Once
	cpu     *cpuData
	cpuErr  error
)

// loadCPU parses just enough line protocol: the hostname tag, the integer fields and the timestamp.
func loadCPU(tb testing.TB) *cpuData {
	if _, err := os.Stat(cpuFile); err != nil {
		tb.Skipf("%s absent: generate it with make bench (chronogo-bench gen)", cpuFile)
	}
	cpuOnce.Do(func() { cpu, cpuErr = parseCPU(cpuFile) })
	require.NoError(tb, cpuErr)
	return cpu
}

func parseCPU(path string) (*cpuData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type host struct {
		times []int64
		vals  [][]int64
	}
	hosts := map[string]*host{}
	var fieldNames []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		sp := bytes.IndexByte(line, ' ')
		last := bytes.LastIndexByte(line, ' ')
		if sp < 0 || last <= sp {
			continue
		}
		tags, fields, ts := line[:sp], line[sp+1:last], line[last+1:]
		i := bytes.Index(tags, []byte("hostname="))
		name := tags[i+len("hostname="):]
		if j := bytes.IndexByte(name, ','); j >= 0 {
			name = name[:j]
		}
		h := hosts[string(name)]
		if h == nil {
			h = &host{}
			hosts[string(name)] = h
		}
		t, err := strconv.ParseInt(string(ts), 10, 64)
		if err != nil {
			return nil, err
		}
		h.times = append(h.times, t)
		for fi := 0; len(fields) > 0; fi++ {
			kv := fields
			if j := bytes.IndexByte(fields, ','); j >= 0 {
				kv, fields = fields[:j], fields[j+1:]
			} else {
				fields = nil
			}
			eq := bytes.IndexByte(kv, '=')
			if len(fieldNames) <= fi {
				fieldNames = append(fieldNames, string(kv[:eq]))
			}
			if len(h.vals) <= fi {
				h.vals = append(h.vals, nil)
			}
			v, err := strconv.ParseInt(string(bytes.TrimSuffix(kv[eq+1:], []byte("i"))), 10, 64)
			if err != nil {
				return nil, err
			}
			h.vals[fi] = append(h.vals[fi], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	// Series ids as the engine makes them: hash24 of the host's key, a counter; fields sorted by name.
	order := make([]int, len(fieldNames))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare([]byte(fieldNames[a]), []byte(fieldNames[b])) })
	d := &cpuData{}
	for _, i := range order {
		d.fields = append(d.fields, fieldNames[i])
	}
	type hs struct {
		id storage.SeriesID
		h  *host
	}
	var all []hs
	n := uint64(0)
	for name, h := range hosts {
		n++
		all = append(all, hs{storage.NewSeriesID(storage.HashSeriesKey([]byte(name)), n), h})
	}
	slices.SortFunc(all, func(a, b hs) int { return cmp.Compare(a.id, b.id) })
	for _, x := range all {
		d.hosts = append(d.hosts, x.id)
		d.times = append(d.times, x.h.times)
		var vs [][]int64
		for _, i := range order {
			vs = append(vs, x.h.vals[i])
		}
		d.vals = append(d.vals, vs)
	}
	return d, nil
}

type sizeReport struct {
	values                        int64
	fileBytes, valueBytes, blocks int64
	indexBytes                    int64 // index + bloom + footer + header
}

// writeCPU writes the data set as one TSM file (constant version and seq) and measures it.
func writeCPU(tb testing.TB, d *cpuData, path string) sizeReport {
	w, err := NewWriter(path, WriterOptions{})
	require.NoError(tb, err)
	var rep sizeReport
	var versions, seqs []uint64
	var enc []byte
	for hi, id := range d.hosts {
		n := len(d.times[hi])
		for len(versions) < n {
			versions = append(versions, 1_700_000_000_000_000_000)
			seqs = append(seqs, 42)
		}
		for fi, f := range d.fields {
			v := storage.Values{Type: storage.TypeInt64, Ints: d.vals[hi][fi]}
			require.NoError(tb, w.WriteColumn(Key{Series: id, Field: f, Type: storage.TypeInt64}, d.times[hi], &v, versions[:n], seqs[:n]))
			for i := 0; i < n; i += BlockPoints {
				enc = codec.EncodeInts(enc[:0], v.Ints[i:min(i+BlockPoints, n)])
				rep.valueBytes += int64(len(enc))
				rep.blocks++
			}
			rep.values += int64(n)
		}
	}
	info, err := w.Finish()
	require.NoError(tb, err)
	rep.fileBytes = info.Size
	r, err := Open(path)
	require.NoError(tb, err)
	rep.indexBytes = info.Size - r.blocksEnd + HeaderSize
	require.NoError(tb, r.Close())
	return rep
}

// TestSizeBudget checks the overhead target on the cpu data set: everything but the encoded values
// (block headers, CRCs, timestamps, versions, seqs, index, bloom, footer) <= 0.04 bytes per value.
func TestSizeBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("parses a 300 MB file")
	}
	d := loadCPU(t)
	rep := writeCPU(t, d, filepath.Join(t.TempDir(), "cpu.tsm"))
	v := float64(rep.values)
	over := float64(rep.fileBytes - rep.valueBytes)
	t.Logf("values=%d blocks=%d file=%d B (%.4f B/value): values %.4f B/value, overhead %.4f B/value (%.1f B/block), index+bloom+footer %d B",
		rep.values, rep.blocks, rep.fileBytes, float64(rep.fileBytes)/v, float64(rep.valueBytes)/v, over/v, over/float64(rep.blocks), rep.indexBytes)
	require.LessOrEqual(t, over/v, 0.04)
}

func BenchmarkSizeCPU(b *testing.B) {
	d := loadCPU(b)
	path := filepath.Join(b.TempDir(), "cpu.tsm")
	b.ReportAllocs()
	var rep sizeReport
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep = writeCPU(b, d, path)
	}
	el := b.Elapsed()
	v := float64(rep.values)
	b.ReportMetric(float64(rep.fileBytes)/v, "B/value")
	b.ReportMetric(float64(rep.valueBytes)/v, "valueB/value")
	b.ReportMetric(float64(rep.fileBytes-rep.valueBytes)/v, "overheadB/value")
	b.ReportMetric(float64(rep.fileBytes-rep.valueBytes)/float64(rep.blocks), "overheadB/block")
	b.ReportMetric(float64(rep.indexBytes)/v, "indexB/value")
	b.ReportMetric(v*float64(b.N)/el.Seconds(), "values/s")
}

// benchFile writes one key of n points of type typ (int random walk / float walk, 10 s times).
func benchFile(b *testing.B, typ storage.FieldType, n int) (*Reader, Entry) {
	rng := rand.New(rand.NewPCG(1, 1))
	c := column{key: Key{Series: 1, Field: "f", Type: typ}, vals: storage.Values{Type: typ}}
	x := int64(50)
	f := 50.0
	for i := 0; i < n; i++ {
		c.times = append(c.times, int64(i)*10e9)
		x = max(0, min(100, x+rng.Int64N(7)-3))
		f += rng.NormFloat64()
		c.vals.Ints = append(c.vals.Ints, x)
		c.vals.Floats = append(c.vals.Floats, float64(int(f*100))/100)
		c.versions = append(c.versions, 1)
		c.seqs = append(c.seqs, 1)
	}
	if typ.Class() != storage.ClassInt {
		c.vals.Ints = nil
	}
	if typ.Class() != storage.ClassFloat {
		c.vals.Floats = nil
	}
	path := filepath.Join(b.TempDir(), "b.tsm")
	w, err := NewWriter(path, WriterOptions{})
	require.NoError(b, err)
	require.NoError(b, w.WriteColumn(c.key, c.times, &c.vals, c.versions, c.seqs))
	_, err = w.Finish()
	require.NoError(b, err)
	r, err := Open(path)
	require.NoError(b, err)
	b.Cleanup(func() { r.Close() })
	return r, r.Entries()[0]
}

func benchReadBlock(b *testing.B, typ storage.FieldType) {
	r, e := benchFile(b, typ, 100*BlockPoints)
	var blk Block
	b.ReportAllocs()
	b.SetBytes(int64(e.Blocks[0].Size))
	b.ResetTimer()
	start := time.Now()
	values := 0
	for i := 0; i < b.N; i++ {
		m := e.Blocks[i%len(e.Blocks)]
		if err := r.ReadBlock(m, typ, &blk); err != nil {
			b.Fatal(err)
		}
		values += blk.Len()
	}
	b.ReportMetric(float64(values)/time.Since(start).Seconds(), "values/s")
}

func BenchmarkReadBlockInt(b *testing.B)   { benchReadBlock(b, storage.TypeInt64) }
func BenchmarkReadBlockFloat(b *testing.B) { benchReadBlock(b, storage.TypeDouble) }

func BenchmarkReadTimesImplied(b *testing.B) {
	r, e := benchFile(b, storage.TypeInt64, 10*BlockPoints)
	var ts []int64
	var err error
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ts, err = r.ReadTimes(e.Blocks[i%len(e.Blocks)], ts); err != nil {
			b.Fatal(err)
		}
	}
}
