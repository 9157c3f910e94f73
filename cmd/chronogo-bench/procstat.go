package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const userHZ = 100

// serverProc watches the server process from outside: CPU time and peak resident memory.
type serverProc struct {
	pid int
}

// cpuSeconds is the process's user + system CPU time (fields 14 and 15 of /proc/<pid>/stat).
func (p serverProc) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, fmt.Errorf("reading server stat: %w", err)
	}
	// The command name (field 2) may hold spaces; the fields after it start with state (field 3).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", p.pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/%d/stat: %d fields after the name", p.pid, len(f))
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed utime/stime in /proc/%d/stat", p.pid)
	}
	return float64(utime+stime) / userHZ, nil
}

// statusKB reads a "Key:   123 kB" line of /proc/<pid>/status, in bytes.
func (p serverProc) statusKB(key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, fmt.Errorf("reading server status: %w", err)
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte(key+":")); ok {
			f := bytes.Fields(v)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("malformed %s in /proc/%d/status: %w", key, p.pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, p.pid)
}

// resetPeakRSS sets the process's VmHWM back to its current RSS (clear_refs 5, Linux ≥ 4.0).
func (p serverProc) resetPeakRSS() error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting peak RSS: %w", err)
	}
	return nil
}

// procWatch measures the server over one phase of the benchmark.
type procWatch struct {
	p        serverProc
	cpu0     float64
	hwmReset bool
	stop     chan struct{}
	done     sync.WaitGroup
	mu       sync.Mutex
	maxRSS   int64 // sampled VmRSS, the fallback when VmHWM cannot be reset
	startRSS int64
}

// watchServer starts measuring; pid 0 measures nothing.
func watchServer(pid int) (*procWatch, error) {
	if pid == 0 {
		return nil, nil
	}
	w := &procWatch{p: serverProc{pid: pid}, stop: make(chan struct{})}
	w.hwmReset = w.p.resetPeakRSS() == nil
	var err error
	if w.startRSS, err = w.p.statusKB("VmRSS"); err != nil {
		return nil, err
	}
	if w.cpu0, err = w.p.cpuSeconds(); err != nil {
		return nil, err
	}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, err := w.p.statusKB("VmRSS"); err == nil {
				w.mu.Lock()
				w.maxRSS = max(w.maxRSS, rss)
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w, nil
}

// finish stops measuring and returns the CPU seconds used and the peak RSS in bytes.
func (w *procWatch) finish() (cpu float64, peakRSS int64, err error) {
	close(w.stop)
	w.done.Wait()
	cpu1, err := w.p.cpuSeconds()
	if err != nil {
		return 0, 0, err
	}
	peakRSS = w.maxRSS
	if w.hwmReset {
		if hwm, err := w.p.statusKB("VmHWM"); err == nil {
			peakRSS = max(peakRSS, hwm)
		}
	}
	return cpu1 - w.cpu0, peakRSS, nil
}

// selfCPUSeconds is this process's user + system CPU time.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// startCPUProfile profiles this process into path (nothing when path is empty); call stop once.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
