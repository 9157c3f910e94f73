package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
)

// memoryLimit is --memory-limit in bytes: a size ("4GiB"), a share of the machine's memory ("50%",
// the default, of the cgroup's limit when it has a lower one), or 0 for none.
func memoryLimit(flag string) (int64, error) {
	flag = strings.TrimSpace(flag)
	if flag == "" || flag == "0" {
		return 0, nil
	}
	if pct, ok := strings.CutSuffix(flag, "%"); ok {
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil || p <= 0 || p > 100 {
			return 0, fmt.Errorf("--memory-limit %q: want a size (4GiB) or a share of memory (1-100%%)", flag)
		}
		total, err := machineMemory()
		if err != nil {
			return 0, fmt.Errorf("--memory-limit %q: %w", flag, err)
		}
		return int64(float64(total) * p / 100), nil
	}
	n, err := humanize.ParseBytes(flag)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("--memory-limit %q: want a size (4GiB) or a share of memory (1-100%%)", flag)
	}
	return int64(n), nil
}

// machineMemory is the memory this process may use: the cgroup (v2) limit when set, else the
// machine's MemTotal.
func machineMemory() (uint64, error) {
	total, err := memTotal()
	if err != nil {
		return 0, err
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && v < total {
			return v, nil
		}
	}
	return total, nil
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("reading the machine's memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading the machine's memory: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("reading the machine's memory: no MemTotal in /proc/meminfo")
}

// cacheBudget is the memory all vnodes' memcaches may hold together: a quarter of the limit
// (0: no limit, no budget).
func cacheBudget(limit int64) int64 { return limit / 4 }

// memoryLimitGauge exports the limit in force.
var memoryLimitGauge = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "chronogo", Name: "memory_limit_bytes",
	Help: "The Go runtime's soft memory limit from --memory-limit (0: none)."})

func init() { prometheus.MustRegister(memoryLimitGauge) }

// applyMemoryLimit sets the Go runtime's soft memory limit (the garbage collector works harder as
// the heap nears it) and returns it; 0 leaves the runtime's default (none).
func applyMemoryLimit(flag string) (int64, error) {
	limit, err := memoryLimit(flag)
	if err != nil || limit == 0 {
		return 0, err
	}
	debug.SetMemoryLimit(limit)
	return limit, nil
}
