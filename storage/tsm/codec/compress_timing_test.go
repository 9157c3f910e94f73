package codec

// Compression and speed on the project's benchmark data (TSBS cpu-only, 100 hosts, 24 h). Generate it with
//
//	make bench (chronogo-bench gen --hosts 100 --duration 24h)
//
// then run
//
//	go test -run 'TestCompressCPU' -v ./storage/tsm/codec
//	go test -run '^$' -bench . -benchtime 1x ./storage/tsm/codec      (or -benchtime 200ms)
//
// Set CHRONOGO_CPU_DATA to use another file. Without the file the CPU tests skip and the benchmarks use a
// synthetic random walk.

import (
	"bufio"
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const cpuBlock = 1000 // points per column, as in a TSM block

type cpuData struct {
	ints [][]int64 // columns of <= cpuBlock values per (host, field)
	ts   [][]int64 // timestamp columns per host, same split
}

var (
	cpuOnce sync.Once
	cpuVal  *cpuData
	cpuErr  error
)

func cpuPath() string {
	if p := os.Getenv("CHRONOGO_CPU_DATA"); p != "" {
		return p
	}
	return "/tmp/chronogo-bench/cpu-100h.lp"
}

// loadCPU parses the line protocol file into per-(host, field) series split into cpuBlock columns.
func loadCPU(tb testing.TB) *cpuData {
	tb.Helper()
	path := cpuPath()
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("benchmark data %s absent; generate it: make bench (chronogo-bench gen --hosts 100 --duration 24h)", path)
	}
	cpuOnce.Do(func() { cpuVal, cpuErr = parseCPU(path) })
	require.NoError(tb, cpuErr)
	return cpuVal
}

func parseCPU(path string) (*cpuData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hostIdx := map[string]int{}
	var series [][]int64 // host*16 + field
	var times [][]int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		h := bytes.Index(line, []byte("hostname="))
		if h < 0 {
			continue
		}
		he := h + 9 + bytes.IndexByte(line[h+9:], ',')
		host := string(line[h+9 : he])
		hi, ok := hostIdx[host]
		if !ok {
			hi = len(hostIdx)
			hostIdx[host] = hi
			times = append(times, nil)
			for range 16 {
				series = append(series, nil)
			}
		}
		sp := bytes.IndexByte(line, ' ')
		last := bytes.LastIndexByte(line, ' ')
		t, err := strconv.ParseInt(string(line[last+1:]), 10, 64)
		if err != nil {
			return nil, err
		}
		times[hi] = append(times[hi], t)
		fields := line[sp+1 : last]
		for fi := 0; len(fields) > 0; fi++ {
			end := bytes.IndexByte(fields, ',')
			kv := fields
			if end >= 0 {
				kv, fields = fields[:end], fields[end+1:]
			} else {
				fields = nil
			}
			eq := bytes.IndexByte(kv, '=')
			v, err := strconv.ParseInt(string(bytes.TrimSuffix(kv[eq+1:], []byte("i"))), 10, 64)
			if err != nil {
				return nil, err
			}
			series[hi*16+fi] = append(series[hi*16+fi], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	d := &cpuData{}
	split := func(s []int64) (out [][]int64) {
		for len(s) > 0 {
			n := min(cpuBlock, len(s))
			out = append(out, s[:n])
			s = s[n:]
		}
		return out
	}
	for _, s := range series {
		d.ints = append(d.ints, split(s)...)
	}
	for _, t := range times {
		d.ts = append(d.ts, split(t)...)
	}
	return d, nil
}

// synthetic returns random-walk int columns and regular timestamp columns shaped like the CPU data.
func synthetic() *cpuData {
	r := rand.New(rand.NewPCG(1, 2))
	d := &cpuData{}
	for c := 0; c < 200; c++ {
		x := r.Float64() * 100
		col := make([]int64, cpuBlock)
		ts := make([]int64, cpuBlock)
		for i := range col {
			x = math.Max(0, math.Min(100, x+r.NormFloat64()))
			col[i] = int64(x)
			ts[i] = 1451606400e9 + int64(c*cpuBlock+i)*10e9
		}
		d.ints = append(d.ints, col)
		d.ts = append(d.ts, ts)
	}
	return d
}

func benchData(b *testing.B) *cpuData {
	if _, err := os.Stat(cpuPath()); err != nil {
		b.Logf("%s absent: using synthetic data", cpuPath())
		return synthetic()
	}
	return loadCPU(b)
}

func bytesPerValue(cols [][]int64, enc func([]byte, []int64) []byte) (float64, map[byte]int) {
	total, n := 0, 0
	forms := map[byte]int{}
	var buf []byte
	for _, c := range cols {
		buf = enc(buf[:0], c)
		total += len(buf)
		n += len(c)
		forms[buf[0]>>4]++
	}
	return float64(total) / float64(n), forms
}

func TestCompressCPU(t *testing.T) {
	d := loadCPU(t)
	ib, iforms := bytesPerValue(d.ints, EncodeInts)
	tb, tforms := bytesPerValue(d.ts, EncodeTimestamps)
	t.Logf("ints: %d columns, %.4f bytes/value, forms %v", len(d.ints), ib, iforms)
	t.Logf("timestamps: %d columns, %.4f bytes/value, forms %v", len(d.ts), tb, tforms)
	require.LessOrEqual(t, ib, 0.29, "int bytes/value")
	require.LessOrEqual(t, tb, 0.015, "timestamp bytes/value")
}

func BenchmarkCompressCPU(b *testing.B) {
	d := benchData(b)
	b.ReportAllocs()
	var ib, tb float64
	for b.Loop() {
		ib, _ = bytesPerValue(d.ints, EncodeInts)
		tb, _ = bytesPerValue(d.ts, EncodeTimestamps)
	}
	b.ReportMetric(ib, "int-B/value")
	b.ReportMetric(tb, "ts-B/value")
}

func benchDecode(b *testing.B, cols [][]int64, enc func([]byte, []int64) []byte, dec func([]int64, []byte) ([]int64, error)) {
	var encs [][]byte
	n, size := 0, 0
	for _, c := range cols {
		e := enc(nil, c)
		encs = append(encs, e)
		n += len(c)
		size += len(e)
	}
	out := make([]int64, 0, MaxValues)
	b.SetBytes(int64(8 * n)) // decoded bytes
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, e := range encs {
			var err error
			if out, err = dec(out[:0], e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "values/s")
	b.ReportMetric(float64(size)/float64(n), "B/value")
}

func BenchmarkDecodeInts(b *testing.B) {
	d := benchData(b)
	benchDecode(b, d.ints, EncodeInts, DecodeInts)
}

func BenchmarkDecodeTimestamps(b *testing.B) {
	d := benchData(b)
	benchDecode(b, d.ts, EncodeTimestamps, DecodeTimestamps)
}

func BenchmarkEncodeInts(b *testing.B) {
	d := benchData(b)
	n := 0
	for _, c := range d.ints {
		n += len(c)
	}
	b.SetBytes(int64(8 * n))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		for _, c := range d.ints {
			buf = EncodeInts(buf[:0], c)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "values/s")
}

func BenchmarkDecodeUints(b *testing.B) {
	// version/seq-like columns: runs of equal, non-decreasing values
	var cols [][]int64
	for c := 0; c < 100; c++ {
		col := make([]int64, cpuBlock)
		for i := range col {
			col[i] = int64(c + i/250)
		}
		cols = append(cols, col)
	}
	benchDecode(b, cols, func(dst []byte, v []int64) []byte { return EncodeUints(dst, i2u(v)) },
		func(dst []int64, src []byte) ([]int64, error) {
			out, err := DecodeUints(i2u(dst), src)
			return u2i(out), err
		})
}

func BenchmarkDecodeFloats(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var cols [][]float64
	n, size := 0, 0
	var encs [][]byte
	for c := 0; c < 100; c++ {
		col := make([]float64, cpuBlock)
		x := 50.0
		for i := range col {
			x += r.NormFloat64()
			col[i] = x
		}
		cols = append(cols, col)
		e := EncodeFloats(nil, col)
		encs = append(encs, e)
		n += len(col)
		size += len(e)
	}
	out := make([]float64, 0, MaxValues)
	b.SetBytes(int64(8 * n))
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range encs {
			var err error
			if out, err = DecodeFloats(out[:0], e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "values/s")
	b.ReportMetric(float64(size)/float64(n), "B/value")
}

func BenchmarkDecodeBytes(b *testing.B) {
	var v [][]byte
	raw := 0
	for i := 0; i < cpuBlock; i++ {
		s := []byte("host_" + strconv.Itoa(i%100) + ".us-west-2")
		v = append(v, s)
		raw += len(s)
	}
	e := EncodeBytes(nil, v)
	out := make([][]byte, 0, cpuBlock)
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, err = DecodeBytes(out[:0], e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuBlock)*float64(b.N)/b.Elapsed().Seconds(), "values/s")
	b.ReportMetric(float64(len(e))/float64(cpuBlock), "B/value")
}
