package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// runLoad streams the data file through send from f.workers goroutines while measuring the client
// and the server, then prints and saves the result. kind names the load in the report.
func runLoad(ctx context.Context, kind string, f loadFlags, send func(ctx context.Context, worker int, b *batch) error) error {
	info, err := readDataInfo(f.file)
	if err != nil {
		return err
	}
	in, err := os.Open(f.file)
	if err != nil {
		return fmt.Errorf("opening data: %w", err)
	}
	defer in.Close()
	return measureLoad(kind, f, info, func() (int64, int64, error) {
		return pipeline(ctx, in, f.batch, f.workers, send)
	})
}

// measureLoad runs load, which returns the lines and values it sent, while measuring the client and
// the server, then prints and saves the result.
func measureLoad(kind string, f loadFlags, info dataInfo, load func() (lines, values int64, err error)) error {
	w, err := watchServer(f.serverPID)
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(f.cpuProfile)
	if err != nil {
		return err
	}
	start, cpu0 := time.Now(), selfCPUSeconds()
	lines, values, err := load()
	if err != nil {
		return err
	}
	r := loadResult{Kind: kind, File: f.file, Hosts: info.Hosts, Workers: f.workers, Batch: f.batch,
		Lines: lines, Values: values, Seconds: time.Since(start).Seconds(), ClientCPUSeconds: selfCPUSeconds() - cpu0}
	stopProfile()
	if err := r.finishLoad(w); err != nil {
		return err
	}
	r.print()
	return writeResults(f.jsonOut, results{Loads: []loadResult{r}})
}
