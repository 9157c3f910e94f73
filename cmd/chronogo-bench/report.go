package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Figures of the peers, measured on this kind of machine with the same data and the same kind of
// client (see ../shared/tools/cpugen/README.md): 4 workers, 5000-line batches through /write.
type peerFigures struct {
	ingestVM, ingestInflux float64 // values/s through line protocol
	rssVM, rssInflux       float64 // MiB, peak during the load
	queryVM, queryInflux   map[string]float64
}

var peers = map[int]peerFigures{
	1000: {ingestVM: 1739685, ingestInflux: 824559, rssVM: 229, rssInflux: 532,
		queryVM:     map[string]float64{"q1": 1.13, "q2": 575, "q3": 198},
		queryInflux: map[string]float64{"q1": 1.79, "q2": 7314, "q3": 200}},
	100: {ingestVM: 2.19e6, ingestInflux: 1.37e6},
}

// Targets of the issue: ingest on any data; the query targets are for 1000 hosts × 1 day.
const (
	targetWrite  = 2.0e6
	targetDriver = 1.5e6
	targetHosts  = 1000
)

var targetQueryMS = map[string]float64{"q2": 300, "q3": 20}

func reportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "report RESULT.json...",
		Short: "Print the results of load-lineproto, load-mongo and query as one markdown table",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var all results
			for _, path := range args {
				r, err := readResults(path)
				if err != nil {
					return err
				}
				all.Loads = append(all.Loads, r.Loads...)
				all.Queries = append(all.Queries, r.Queries...)
			}
			writeReport(os.Stdout, all)
			return nil
		},
	}
}

// rate formats values/s as "1.234M".
func rate(v float64) string { return fmt.Sprintf("%.3fM", v/1e6) }

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// verdict marks a measured figure against a target.
func verdict(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌"
}

func writeReport(w io.Writer, r results) {
	fmt.Fprintln(w, "| figure | measured | target | peers (VictoriaMetrics 1.79 / InfluxDB 1.6) |")
	fmt.Fprintln(w, "|---|---|---|---|")
	row := func(cells ...string) { fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |") }
	for _, l := range r.Loads {
		p := peers[l.Hosts]
		data := fmt.Sprintf("%d hosts × 24 h, %d workers × %d lines", l.Hosts, l.Workers, l.Batch)
		ingestPeers := "—"
		if p.ingestVM > 0 {
			ingestPeers = rate(p.ingestVM) + " / " + rate(p.ingestInflux)
		}
		rssPeers := "—"
		if p.rssVM > 0 {
			rssPeers = fmt.Sprintf("%.0f MiB / %.0f MiB", p.rssVM, p.rssInflux)
		}
		name, target := "ingest `/write` line protocol", targetWrite
		if l.Kind == "mongo" {
			name, target = "ingest Go driver insertMany", targetDriver
			ingestPeers += " (through `/write`; no MongoDB API)"
		}
		row(fmt.Sprintf("%s (%s), values/s", name, data), rate(l.ValuesPerSec)+" "+verdict(l.ValuesPerSec >= target),
			"≥ "+rate(target), ingestPeers)
		if l.ServerCPUSeconds > 0 {
			row(name+": server CPU s per million values", fmt.Sprintf("%.2f (server %.1f CPU s, client %.1f CPU s, in %.1f s)",
				l.ServerCPUPerMValue, l.ServerCPUSeconds, l.ClientCPUSeconds, l.Seconds), "—", "—")
			row(name+": server peak RSS", fmt.Sprintf("%.0f MiB (%.0f MiB at the start)", l.ServerPeakRSSMiB, l.ServerStartRSSMiB),
				"—", rssPeers)
		}
	}
	for _, q := range r.Queries {
		p := peers[q.Hosts]
		measured := ms(q.MedianMS)
		if q.Check != "" {
			measured += " (wrong result: " + q.Check + ")"
		}
		target := "—"
		if t, ok := targetQueryMS[q.Name]; ok {
			target = "< " + ms(t) + fmt.Sprintf(" (%d hosts)", targetHosts)
			if q.Hosts == targetHosts {
				measured += " " + verdict(q.MedianMS < t && q.Check == "")
			}
		}
		peerCell := "—"
		if p.queryVM != nil {
			peerCell = ms(p.queryVM[q.Name]) + " / " + ms(p.queryInflux[q.Name])
		}
		row(fmt.Sprintf("%s: %s (%d hosts), median of %d", strings.ToUpper(q.Name), q.Title, q.Hosts, len(q.RunsMS)),
			measured, target, peerCell)
	}
}
