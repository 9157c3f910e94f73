package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// loadResult is one load of the data set.
type loadResult struct {
	Kind         string  `json:"kind"` // "lineproto" or "mongo"
	File         string  `json:"file"`
	Hosts        int     `json:"hosts"`
	Workers      int     `json:"workers"`
	Batch        int     `json:"batch"` // lines per request
	Lines        int64   `json:"lines"`
	Values       int64   `json:"values"`
	Seconds      float64 `json:"seconds"`
	ValuesPerSec float64 `json:"values_per_sec"`
	// Server figures, when --server-pid was given.
	ServerCPUSeconds   float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUPerMValue float64 `json:"server_cpu_seconds_per_million_values,omitempty"`
	ServerPeakRSSMiB   float64 `json:"server_peak_rss_mib,omitempty"`
	ServerStartRSSMiB  float64 `json:"server_start_rss_mib,omitempty"` // RSS when the load began
	// ClientCPUSeconds is this process's CPU time during the load: on 2 cores it competes with the server.
	ClientCPUSeconds float64 `json:"client_cpu_seconds"`
}

// queryResult is the latency of one query.
type queryResult struct {
	Name     string    `json:"name"` // q1, q2, q3
	Title    string    `json:"title"`
	Hosts    int       `json:"hosts"`
	MedianMS float64   `json:"median_ms"`
	RunsMS   []float64 `json:"runs_ms"`
	Rows     int       `json:"rows"`
	// ServerMS is the server's own mean time per run: the latency of the runs' aggregate and
	// getMore commands from serverStatus.opLatencies.reads (0 when the server does not report it).
	ServerMS float64 `json:"server_ms,omitempty"`
	Check    string  `json:"check,omitempty"` // what is wrong with the result; empty when it is right
}

// results is the JSON a subcommand writes with --json; report merges several.
type results struct {
	Loads   []loadResult  `json:"loads,omitempty"`
	Queries []queryResult `json:"queries,omitempty"`
}

func writeResults(path string, r results) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

func readResults(path string) (results, error) {
	var r results
	b, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("reading results: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decoding results %s: %w", path, err)
	}
	return r, nil
}

// median of xs (the mean of the two middle values for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// finishLoad fills the derived figures of a load.
func (r *loadResult) finishLoad(w *procWatch) error {
	if r.Seconds > 0 {
		r.ValuesPerSec = float64(r.Values) / r.Seconds
	}
	if w == nil {
		return nil
	}
	cpu, rss, err := w.finish()
	if err != nil {
		return err
	}
	r.ServerStartRSSMiB = float64(w.startRSS) / (1 << 20)
	r.ServerCPUSeconds = cpu
	if r.Values > 0 {
		r.ServerCPUPerMValue = cpu / (float64(r.Values) / 1e6)
	}
	r.ServerPeakRSSMiB = float64(rss) / (1 << 20)
	return nil
}

func (r *loadResult) print() {
	fmt.Printf("%s: %d lines, %d values in %.2f s: %.0f values/s; client %.1f CPU s\n", r.Kind, r.Lines, r.Values,
		r.Seconds, r.ValuesPerSec, r.ClientCPUSeconds)
	if r.ServerCPUSeconds > 0 {
		fmt.Printf("server: %.1f CPU s (%.2f CPU s per million values), peak RSS %.0f MiB (%.0f MiB at the start)\n",
			r.ServerCPUSeconds, r.ServerCPUPerMValue, r.ServerPeakRSSMiB, r.ServerStartRSSMiB)
	}
}
