package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// freePortsCommand prints n TCP ports that were free on 127.0.0.1 a moment ago.
func freePortsCommand() *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "free-ports",
		Short: "Print free TCP ports on 127.0.0.1, space-separated",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ports []string
			for range n {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return fmt.Errorf("finding a free port: %w", err)
				}
				defer ln.Close() // held until all are chosen, so they differ
				ports = append(ports, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(ports, " "))
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "n", 3, "how many ports")
	return cmd
}

// waitReadyCommand polls a URL until it answers 200.
func waitReadyCommand() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait-ready",
		Short: "Wait until a URL (the server's /health) answers 200",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			for {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					return fmt.Errorf("building request: %w", err)
				}
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return nil
					}
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("%s not ready after %s", url, timeout)
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/health", "URL to poll")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait")
	return cmd
}
