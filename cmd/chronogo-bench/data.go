package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// cpuFields are the ten fields of the TSBS cpu-only measurement.
var cpuFields = []string{"usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait",
	"usage_irq", "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"}

// dataInfo describes a cpugen file: points are ordered by time, then host.
type dataInfo struct {
	First, Last time.Time // timestamps of the first and the last line
	Hosts       int       // lines with the first timestamp
}

// readDataInfo reads the head and the tail of a data file.
func readDataInfo(path string) (dataInfo, error) {
	var info dataInfo
	f, err := os.Open(path)
	if err != nil {
		return info, fmt.Errorf("opening data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var p point
	for sc.Scan() {
		if err := parseLine(sc.Bytes(), &p); err != nil {
			return info, fmt.Errorf("%s: %w", path, err)
		}
		t := time.Unix(0, p.timeNS).UTC()
		if info.Hosts == 0 {
			info.First = t
		} else if !t.Equal(info.First) {
			break
		}
		info.Hosts++
	}
	if err := sc.Err(); err != nil {
		return info, fmt.Errorf("reading %s: %w", path, err)
	}
	if info.Hosts == 0 {
		return info, fmt.Errorf("%s holds no points", path)
	}
	tail, err := tailLines(path, 1)
	if err != nil {
		return info, err
	}
	if err := parseLine(tail[0], &p); err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	info.Last = time.Unix(0, p.timeNS).UTC()
	return info, nil
}

// tailLines returns the last n lines of a file.
func tailLines(path string, n int) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat data: %w", err)
	}
	for size := int64(n+1) * 512; ; size *= 2 {
		off := max(st.Size()-size, 0)
		buf := make([]byte, st.Size()-off)
		if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading data tail: %w", err)
		}
		lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte{'\n'})
		if off > 0 {
			lines = lines[1:] // the first one may be cut
		}
		if len(lines) >= n {
			return lines[len(lines)-n:], nil
		}
		if off == 0 {
			return nil, fmt.Errorf("%s has %d lines, fewer than %d", path, len(lines), n)
		}
	}
}

// expected holds results computed from the data file, to check the server's answers.
type expected struct {
	q1Max   []int64            // max(usage_user) of host_0 per minute of the first hour
	q2Host0 []float64          // avg of each field of host_0 in the first hour
	q3Last  map[string][]int64 // the last value of each field, by hostname
}

// readExpected computes from the file what Q1, the first row of Q2 and Q3 must answer.
func readExpected(path string, info dataInfo) (*expected, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening data: %w", err)
	}
	defer f.Close()
	e := &expected{q1Max: make([]int64, 60), q2Host0: make([]float64, len(cpuFields)), q3Last: map[string][]int64{}}
	for i := range e.q1Max {
		e.q1Max[i] = -1
	}
	end := info.First.Add(time.Hour).UnixNano()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var p point
	n := 0
	for sc.Scan() {
		if err := parseLine(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if p.timeNS >= end {
			break
		}
		if p.tag("hostname") != "host_0" {
			continue
		}
		m := (p.timeNS - info.First.UnixNano()) / int64(time.Minute)
		for i, name := range cpuFields {
			v, ok := p.fieldInt(name)
			if !ok {
				return nil, fmt.Errorf("host_0 at %d has no integer %s", p.timeNS, name)
			}
			if i == 0 {
				e.q1Max[m] = max(e.q1Max[m], v)
			}
			e.q2Host0[i] += float64(v)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s has no host_0 in its first hour", path)
	}
	for i := range e.q2Host0 {
		e.q2Host0[i] /= float64(n)
	}
	tail, err := tailLines(path, info.Hosts)
	if err != nil {
		return nil, err
	}
	for _, line := range tail {
		if err := parseLine(line, &p); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		vals := make([]int64, len(cpuFields))
		for i, name := range cpuFields {
			vals[i], _ = p.fieldInt(name)
		}
		e.q3Last[p.tag("hostname")] = vals
	}
	return e, nil
}
