package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/actors/coordinator"
)

// repairCommand is ctl repair: anti-entropy of a database's replicas.
func repairCommand(addr, user, password *string) *cobra.Command {
	var tenant, db string
	var window time.Duration
	var dry bool
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Compare a database's replicas and fill each one's gaps from the others (anti-entropy)",
		Long: "The node at --addr asks every replica of every replica set of --db for digests of what it shows, per\n" +
			"collection and --window, then per series in the windows that differ. Each replica then gets the deletes\n" +
			"of those series it missed, then the points the others show and it lacks, with their original versions\n" +
			"(deletes and points). A copy never replaces a value a replica\n" +
			"shows, never brings back points a delete or the TTL hides on it, and never copies points older than\n" +
			"the collection (from a dropped collection of the same name); windows left different are reported.\n" +
			"Replica sets with a replica that does not answer are skipped and listed.",
		Example: "  chronogo ctl repair --db metrics --dry-run\n" +
			"  chronogo ctl repair --db metrics --window 10m --addr 10.0.0.5:8080",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if db == "" {
				return errors.New("repair: --db is required")
			}
			q := url.Values{"tenant": {tenant}, "db": {db}, "window": {window.String()}, "dryRun": {fmt.Sprint(dry)}}.Encode()
			var r struct {
				Report coordinator.RepairReport
				DryRun bool
			}
			if err := adminCall(c, http.MethodPost, *addr, "/api/v1/repair?"+q, *user, *password, time.Hour, &r); err != nil {
				return fmt.Errorf("repair: %w", err)
			}
			rep := r.Report
			out := c.OutOrStdout()
			fmt.Fprintf(out, "replica sets compared: %d (skipped: %d)\n", rep.ReplicaSets, rep.Skipped)
			fmt.Fprintf(out, "windows compared: %d, different: %d; series windows different: %d\n", rep.WindowsCompared, rep.WindowsDifferent, rep.SeriesDifferent)
			if r.DryRun {
				fmt.Fprintln(out, "dry run: nothing copied")
			} else {
				fmt.Fprintf(out, "repaired: %d, still different: %d; points copied: %d, withheld: %d; deletes copied: %d\n", rep.SeriesRepaired, rep.StillDifferent, rep.PointsCopied, rep.PointsWithheld, rep.DeletesCopied)
			}
			for _, e := range rep.Errors {
				fmt.Fprintf(out, "skipped: %s\n", e)
			}
			if len(rep.Errors) > 0 {
				return fmt.Errorf("repair: %d replica sets not repaired (first: %s)", len(rep.Errors), rep.Errors[0])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "the database (required)")
	cmd.Flags().StringVar(&tenant, "tenant", "", "its tenant (default: default)")
	cmd.Flags().DurationVar(&window, "window", time.Hour, "the digest window: the unit compared and copied (1m to 168h)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "compare and report only")
	return cmd
}
