package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/wire/httpapi"
)

// placementCommands adds ctl vnodes and ctl truncate.
func placementCommands(cmd *cobra.Command, addr, user, password *string) {
	var tenant, db string
	vnodes := &cobra.Command{
		Use:   "vnodes",
		Short: "List the placement: buckets by time range, replica sets, their vnodes, nodes and sizes; plain shards",
		Long: "Reads the placement from the node at --addr and the vnode sizes from every data node (through their\n" +
			"HTTP addresses, as ctl nodes lists them); a node that does not answer shows its vnodes without sizes.\n" +
			"Then the databases' plain shards (their plain collections) with the nodes of their replicas.",
		Example: "  chronogo ctl vnodes\n  chronogo ctl vnodes --db metrics --addr 10.0.0.5:8080",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{"tenant": {tenant}, "db": {db}}.Encode()
			var info httpapi.VnodesInfo
			if err := adminCall(c, http.MethodGet, *addr, "/api/v1/vnodes?"+q, *user, *password, time.Minute, &info); err != nil {
				return fmt.Errorf("vnodes: %w", err)
			}
			sizes := map[uint64]httpapi.VnodeStat{}
			for _, s := range info.Local {
				sizes[s.Vnode] = s
			}
			var nodes struct{ Nodes []httpapi.NodeInfo }
			names := map[uint64]string{}
			if err := adminCall(c, http.MethodGet, *addr, "/api/v1/nodes", *user, *password, time.Minute, &nodes); err == nil {
				for _, n := range nodes.Nodes {
					names[n.ID] = n.Name
					if n.Self || n.HTTPAddr == "" || n.Role == "mnode" {
						continue
					}
					var other httpapi.VnodesInfo
					if adminCall(c, http.MethodGet, n.HTTPAddr, "/api/v1/vnodes?"+q, *user, *password, 30*time.Second, &other) == nil {
						for _, s := range other.Local {
							sizes[s.Vnode] = s
						}
					}
				}
			}
			sort.Slice(info.Buckets, func(i, j int) bool {
				a, b := info.Buckets[i], info.Buckets[j]
				if a.Tenant != b.Tenant || a.DB != b.DB {
					return a.Tenant+"/"+a.DB < b.Tenant+"/"+b.DB
				}
				return a.Start < b.Start
			})
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tDB\tBUCKET\tSTART\tEND\tREPLICA SET\tVNODE\tNODE\tFILES\tDISK\tMEMORY\tSERIES")
			for _, b := range info.Buckets {
				for _, rs := range b.ReplicaSets {
					for _, v := range rs.Vnodes {
						files, disk, mem, series := "?", "?", "?", "?"
						if s, ok := sizes[v.ID]; ok {
							files, disk, mem, series = fmt.Sprint(s.Files), humanize.IBytes(uint64(s.DiskBytes)), humanize.IBytes(uint64(s.CacheBytes)), fmt.Sprint(s.Series)
						}
						node := names[v.Node]
						if node == "" {
							node = fmt.Sprint(v.Node)
						}
						if v.Joining {
							node += " (joining)"
						}
						fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", b.Tenant, b.DB, b.ID, b.Start, b.End, rs.ID, v.ID, node, files, disk, mem, series)
					}
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return printPlainShards(c, *addr, *user, *password, tenant, db, names)
		},
	}
	vnodes.Flags().StringVar(&tenant, "tenant", "", "only this tenant")
	vnodes.Flags().StringVar(&db, "db", "", "only this database")
	cmd.AddCommand(vnodes)

	var tdb, ttenant, before string
	var yes bool
	truncate := &cobra.Command{
		Use:   "truncate",
		Short: "Drop a database's buckets that end before a time (whole buckets: their vnodes are removed)",
		Long: "Lists the buckets of --db that end at or before --before; with --yes, drops them from the placement,\n" +
			"and every node then removes their vnodes, as it does for expired buckets. Points in a bucket that\n" +
			"straddles --before stay.",
		Example: "  chronogo ctl truncate --db metrics --before 2024-01-01T00:00:00Z\n" +
			"  chronogo ctl truncate --db metrics --before 2024-01-01T00:00:00Z --yes",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if tdb == "" || before == "" {
				return errors.New("truncate: --db and --before are required")
			}
			if _, err := time.Parse(time.RFC3339Nano, before); err != nil {
				return fmt.Errorf("truncate: --before: %w", err)
			}
			q := url.Values{"tenant": {ttenant}, "db": {tdb}, "before": {before}, "dryRun": {fmt.Sprint(!yes)}}.Encode()
			var r struct {
				Buckets []httpapi.BucketInfo
				DryRun  bool
			}
			if err := adminCall(c, http.MethodPost, *addr, "/api/v1/truncate?"+q, *user, *password, 10*time.Minute, &r); err != nil {
				return fmt.Errorf("truncate: %w", err)
			}
			verb := "dropped"
			if r.DryRun {
				verb = "would drop (add --yes to drop them)"
			}
			fmt.Fprintf(c.OutOrStdout(), "%s %d buckets of %s\n", verb, len(r.Buckets), tdb)
			for _, b := range r.Buckets {
				fmt.Fprintf(c.OutOrStdout(), "  bucket %d: %s .. %s\n", b.ID, b.Start, b.End)
			}
			return nil
		},
	}
	truncate.Flags().StringVar(&tdb, "db", "", "the database (required)")
	truncate.Flags().StringVar(&ttenant, "tenant", "", "its tenant (default: default)")
	truncate.Flags().StringVar(&before, "before", "", "drop buckets ending at or before this time (RFC 3339; required)")
	truncate.Flags().BoolVar(&yes, "yes", false, "drop them (without it, only list them)")
	cmd.AddCommand(truncate)
}

// printPlainShards lists the databases' plain shards (their plain collections) and the nodes of
// their replicas, after the buckets.
func printPlainShards(c *cobra.Command, addr, user, password, tenant, db string, names map[uint64]string) error {
	var list struct{ Shards []httpapi.PlainShardInfo }
	if err := adminCall(c, http.MethodGet, addr, "/api/v1/plain", user, password, time.Minute, &list); err != nil {
		return fmt.Errorf("plain shards: %w", err)
	}
	name := func(id uint64) string {
		if n := names[id]; n != "" {
			return n
		}
		return fmt.Sprint(id)
	}
	tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
	shown := 0
	for _, p := range list.Shards {
		if (tenant != "" && p.Tenant != tenant) || (db != "" && p.DB != db) {
			continue
		}
		if shown == 0 {
			fmt.Fprintln(tw, "\nTENANT\tDB\tPLAIN SHARD\tREPLICAS")
		}
		shown++
		var nodes []string
		for _, id := range p.Replicas {
			nodes = append(nodes, name(id))
		}
		if p.Joining != 0 {
			nodes = append(nodes, name(p.Joining)+" (joining)")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Tenant, p.DB, p.ID, strings.Join(nodes, ", "))
	}
	return tw.Flush()
}
