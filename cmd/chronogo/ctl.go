package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
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
		Example: "  chronogo ctl compact\n  chronogo ctl compact --db metrics\n  chronogo ctl compact --addr 10.0.0.5:8080 --user admin --password secret",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var r httpapi.CompactResult
			if err := adminCall(c, http.MethodPost, addr, "/api/v1/compact?"+filterQuery(c), user, password, 2*time.Hour, &r); err != nil {
				return fmt.Errorf("compact: %w", err)
			}
			fmt.Fprintf(c.OutOrStdout(), "compacted %d vnodes in %.1f s\n", r.Vnodes, r.Seconds)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "flush",
		Short: "Write every vnode's memcaches to TSM files now (and remove the flushed WAL segments)",
		Long: "Does at once what a vnode does when its memcache fills: writes what it holds in memory to TSM files and\n" +
			"removes the WAL segments they cover. It answers when every vnode of the node is done.",
		Example: "  chronogo ctl flush\n  chronogo ctl flush --db metrics --vnode 12\n  chronogo ctl flush --addr 10.0.0.5:8080 --user admin --password secret",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var r httpapi.FlushResult
			if err := adminCall(c, http.MethodPost, addr, "/api/v1/flush?"+filterQuery(c), user, password, time.Hour, &r); err != nil {
				return fmt.Errorf("flush: %w", err)
			}
			fmt.Fprintf(c.OutOrStdout(), "flushed %d vnodes in %.1f s\n", r.Vnodes, r.Seconds)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "nodes",
		Short:   "List the cluster's nodes: role, addresses, and whether they are up",
		Example: "  chronogo ctl nodes --addr 127.0.0.1:9190",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var r struct{ Nodes []httpapi.NodeInfo }
			if err := adminCall(c, http.MethodGet, addr, "/api/v1/nodes", user, password, time.Minute, &r); err != nil {
				return fmt.Errorf("nodes: %w", err)
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tROLE\tZONE\tMONGO\tHTTP\tSTATE")
			for _, n := range r.Nodes {
				state := "up"
				switch {
				case n.DownSince != "":
					state = "down since " + n.DownSince
				case n.Seen == "down":
					state = "down (seen from here)"
				}
				if n.Self {
					state += " (this node)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Role, dash(n.Zone), dash(n.MongoAddr), dash(n.HTTPAddr), state)
			}
			return tw.Flush()
		},
	})
	placementCommands(cmd, &addr, &user, &password)
	cmd.AddCommand(repairCommand(&addr, &user, &password))
	moveCommands(cmd, &addr, &user, &password)
	for _, sub := range cmd.Commands() {
		if sub.Name() == "compact" || sub.Name() == "flush" {
			sub.Flags().String("tenant", "", "only the vnodes of this tenant")
			sub.Flags().String("db", "", "only the vnodes of this database")
			sub.Flags().Uint64("vnode", 0, "only this vnode")
		}
	}
	return cmd
}

// filterQuery is the ?tenant=&db=&vnode= of ctl compact and flush.
func filterQuery(c *cobra.Command) string {
	q := url.Values{}
	for _, name := range []string{"tenant", "db", "vnode"} {
		if f := c.Flags().Lookup(name); f != nil && f.Changed {
			q.Set(name, f.Value.String())
		}
	}
	return q.Encode()
}

// adminCall calls the admin API of the node at addr and decodes its JSON answer into out; a
// refusal is its one-line reason.
func adminCall(c *cobra.Command, method, addr, path, user, password string, timeout time.Duration, out any) error {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(c.Context(), method, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("unexpected answer %q: %w", body, err)
	}
	return nil
}

// dash is s, or "-" when empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
