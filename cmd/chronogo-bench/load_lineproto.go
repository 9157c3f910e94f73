package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

type loadFlags struct {
	file       string
	workers    int
	batch      int
	serverPID  int
	jsonOut    string
	timeout    time.Duration
	cpuProfile string
}

func (f *loadFlags) register(cmd *cobra.Command, batchName string, batchDefault int) {
	fl := cmd.Flags()
	fl.StringVar(&f.file, "file", "", "line-protocol data file (cpugen output)")
	fl.IntVar(&f.workers, "workers", 4, "concurrent requests")
	fl.IntVar(&f.batch, batchName, batchDefault, "lines per request")
	fl.IntVar(&f.serverPID, "server-pid", 0, "server process id: measure its CPU time and peak RSS during the load")
	fl.StringVar(&f.jsonOut, "json", "", "write the result as JSON to this file")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "timeout of one request")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of this client to this file")
	_ = cmd.MarkFlagRequired("file")
}

func loadLineprotoCommand() *cobra.Command {
	var f loadFlags
	var baseURL, db string
	cmd := &cobra.Command{
		Use:   "load-lineproto",
		Short: "Load a line-protocol file through POST /write",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return loadLineproto(cmd.Context(), baseURL, db, f)
		},
	}
	cmd.Flags().StringVar(&baseURL, "url", "http://127.0.0.1:8080", "server HTTP address")
	cmd.Flags().StringVar(&db, "db", "bench", "database")
	f.register(cmd, "batch-lines", 5000)
	return cmd
}

func loadLineproto(ctx context.Context, baseURL, db string, f loadFlags) error {
	writeURL := baseURL + "/write?" + url.Values{"db": {db}, "precision": {"ns"}}.Encode()
	client := &http.Client{Timeout: f.timeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: f.workers, DisableCompression: true}}
	defer client.CloseIdleConnections()
	post := func(ctx context.Context, _ int, b *batch) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, writeURL, bytes.NewReader(b.buf))
		if err != nil {
			return fmt.Errorf("building request: %w", err)
		}
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("POST /write: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST /write: %s: %s", resp.Status, bytes.TrimSpace(body))
		}
		return nil
	}
	return runLoad(ctx, "lineproto", f, post)
}
