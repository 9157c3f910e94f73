package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/wire/httpapi"
)

// ctlCommand talks to a running node's admin API on its HTTP address.
func ctlCommand() *cobra.Command {
	var addr, user, password string
	cmd := &cobra.Command{Use: "ctl", Short: "Operate a running node through its admin API (--addr: its HTTP address)"}
	cmd.PersistentFlags().StringVar(&addr, "addr", "127.0.0.1:8080", "the node's HTTP address (host:port, or a URL such as https://host:8080)")
	cmd.PersistentFlags().StringVar(&user, "user", "", "a cluster administrator (needed when the node runs with --auth)")
	cmd.PersistentFlags().StringVar(&password, "password", "", "the administrator's password")
	cmd.AddCommand(&cobra.Command{
		Use:   "compact",
		Short: "Put every vnode of the node in its most compact form now (flush, WAL reclaimed, full compaction)",
		Long: "Does at once what a node does by itself once a vnode has been quiet for a minute: flushes the memcaches,\n" +
			"removes the flushed WAL segments, compacts to one file per time range and rewrites the files that still\n" +
			"hold deleted or expired points. It answers when every vnode is done.",
		Example: "  chronogo ctl compact\n  chronogo ctl compact --addr 10.0.0.5:8080 --user admin --password secret",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			base := addr
			if !strings.Contains(base, "://") {
				base = "http://" + base
			}
			req, err := http.NewRequestWithContext(c.Context(), http.MethodPost, strings.TrimRight(base, "/")+"/api/v1/compact", nil)
			if err != nil {
				return err
			}
			if user != "" {
				req.SetBasicAuth(user, password)
			}
			resp, err := (&http.Client{Timeout: 2 * time.Hour}).Do(req)
			if err != nil {
				return fmt.Errorf("compact: %w", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return fmt.Errorf("compact: %w", err)
			}
			if resp.StatusCode != http.StatusOK {
				var e struct{ Error string }
				if json.Unmarshal(body, &e) == nil && e.Error != "" {
					return fmt.Errorf("compact: %s (HTTP %d)", e.Error, resp.StatusCode)
				}
				return fmt.Errorf("compact: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
			}
			var r httpapi.CompactResult
			if err := json.Unmarshal(body, &r); err != nil {
				return fmt.Errorf("compact: unexpected answer %q: %w", body, err)
			}
			fmt.Fprintf(c.OutOrStdout(), "compacted %d vnodes in %.1f s\n", r.Vnodes, r.Seconds)
			return nil
		},
	})
	return cmd
}
