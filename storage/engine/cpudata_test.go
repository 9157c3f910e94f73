package engine

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/chronogo/chronogo/storage"
)

// The benchmark data set is TSBS cpu-only made by chronogo-bench gen (see `make bench`):
// InfluxDB line protocol, 10 integer fields per line. cpuBatches turns it into batches of
// cpuBatchLines lines, as a line-protocol client sending 5000-line requests would.

const cpuBatchLines = 5000

var (
	cpuOnce    sync.Once
	cpuData    []*storage.Batch
	cpuValues  int64
	cpuLoadErr error
)

func cpuDataPath() string {
	if p := os.Getenv("CHRONOGO_CPU_DATA"); p != "" {
		return p
	}
	return "/tmp/chronogo-bench/cpu-100h.lp"
}

func cpuBatches(b *testing.B) ([]*storage.Batch, int64) {
	b.Helper()
	cpuOnce.Do(func() { cpuData, cpuValues, cpuLoadErr = loadCPU(cpuDataPath()) })
	if cpuLoadErr != nil {
		b.Skipf("cpu data set not available (%v); run `make bench` or go run ./cmd/chronogo-bench gen --hosts 100 --duration 24h -o %s", cpuLoadErr, cpuDataPath())
	}
	return cpuData, cpuValues
}

func loadCPU(path string) ([]*storage.Batch, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var (
		batches  []*storage.Batch
		values   int64
		cur      *storage.Batch
		lines    int
		bySeries map[string]int
	)
	for sc.Scan() {
		line := sc.Bytes()
		if cur == nil {
			cur, lines, bySeries = &storage.Batch{Version: uint64(len(batches) + 1)}, 0, map[string]int{}
		}
		sp1 := bytes.IndexByte(line, ' ')
		sp2 := bytes.LastIndexByte(line, ' ')
		if sp1 < 0 || sp2 <= sp1 {
			continue
		}
		tagPart, fieldPart := line[:sp1], line[sp1+1:sp2]
		ts, err := strconv.ParseInt(string(line[sp2+1:]), 10, 64)
		if err != nil {
			return nil, 0, err
		}
		si, ok := bySeries[string(tagPart)]
		if !ok {
			key := storage.SeriesKey{}
			parts := bytes.Split(tagPart, []byte{','})
			key.Table = string(parts[0])
			for _, kv := range parts[1:] {
				eq := bytes.IndexByte(kv, '=')
				key.Tags = append(key.Tags, storage.Tag{Key: string(kv[:eq]), Value: storage.StringTag(string(kv[eq+1:]))})
			}
			if err := key.Normalize(); err != nil {
				return nil, 0, err
			}
			rows := storage.SeriesRows{Key: key.Marshal(nil)}
			for _, fv := range bytes.Split(fieldPart, []byte{','}) {
				eq := bytes.IndexByte(fv, '=')
				rows.Fields = append(rows.Fields, storage.FieldColumn{Name: string(fv[:eq]), Values: storage.Values{Type: storage.TypeInt64}})
			}
			si = len(cur.Series)
			bySeries[string(tagPart)] = si
			cur.Series = append(cur.Series, rows)
		}
		rows := &cur.Series[si]
		rows.Times = append(rows.Times, ts)
		fi := 0
		for _, fv := range bytes.Split(fieldPart, []byte{','}) {
			eq := bytes.IndexByte(fv, '=')
			v, err := strconv.ParseInt(string(bytes.TrimSuffix(fv[eq+1:], []byte{'i'})), 10, 64)
			if err != nil {
				return nil, 0, err
			}
			rows.Fields[fi].Values.Ints = append(rows.Fields[fi].Values.Ints, v)
			fi++
			values++
		}
		lines++
		if lines == cpuBatchLines {
			batches = append(batches, cur)
			cur = nil
		}
	}
	if cur != nil {
		batches = append(batches, cur)
	}
	return batches, values, sc.Err()
}
