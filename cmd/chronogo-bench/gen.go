package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// The TSBS cpu-only use case: each host has ten tags drawn once from these lists, and measurement
// cpu with ten fields every interval, each a random walk clamped to [0, 100] whose steps are
// normally distributed (mean 0, deviation 1), written as integers as TSBS writes them.
var (
	tsbsRegions = []struct {
		name  string
		zones []string
	}{
		{"us-east-1", []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1e"}},
		{"us-west-1", []string{"us-west-1a", "us-west-1b"}},
		{"us-west-2", []string{"us-west-2a", "us-west-2b", "us-west-2c"}},
		{"eu-west-1", []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}},
		{"eu-central-1", []string{"eu-central-1a", "eu-central-1b"}},
		{"ap-southeast-1", []string{"ap-southeast-1a", "ap-southeast-1b"}},
		{"ap-southeast-2", []string{"ap-southeast-2a", "ap-southeast-2b"}},
		{"ap-northeast-1", []string{"ap-northeast-1a", "ap-northeast-1c"}},
		{"sa-east-1", []string{"sa-east-1a", "sa-east-1b", "sa-east-1c"}},
	}
	tsbsOS     = []string{"Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"}
	tsbsArch   = []string{"x64", "x86"}
	tsbsTeam   = []string{"SF", "NYC", "LON", "CHI"}
	tsbsEnv    = []string{"production", "staging", "test"}
	tsbsFields = []string{"usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait", "usage_irq",
		"usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"}
	// tsbsStart is TSBS's default start of the data: 2016-01-01T00:00:00Z.
	tsbsStart = time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
)

// genHost is one simulated host: its tag set (as line protocol) and its fields' random walks.
type genHost struct {
	tags string
	rnd  *rand.Rand
	vals [10]float64
}

// newGenHost draws host i's tags and starting values from its own generator (seed, i), so host i
// is the same whatever the number of hosts.
func newGenHost(seed uint64, i int) *genHost {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	reg := tsbsRegions[r.IntN(len(tsbsRegions))]
	h := &genHost{rnd: r, tags: fmt.Sprintf("hostname=host_%d,region=%s,datacenter=%s,rack=%d,os=%s,arch=%s,team=%s,service=%d,service_version=%d,service_environment=%s",
		i, reg.name, reg.zones[r.IntN(len(reg.zones))], r.IntN(100), tsbsOS[r.IntN(len(tsbsOS))], tsbsArch[r.IntN(len(tsbsArch))],
		tsbsTeam[r.IntN(len(tsbsTeam))], r.IntN(20), r.IntN(2), tsbsEnv[r.IntN(len(tsbsEnv))])}
	for f := range h.vals {
		h.vals[f] = r.Float64() * 100
	}
	return h
}

// step advances every field's walk by one normal step, clamped to [0, 100].
func (h *genHost) step() {
	for f := range h.vals {
		h.vals[f] = math.Min(100, math.Max(0, h.vals[f]+h.rnd.NormFloat64()))
	}
}

// appendLine appends the host's line at ts (ns).
func (h *genHost) appendLine(b []byte, ts int64) []byte {
	b = append(b, "cpu,"...)
	b = append(b, h.tags...)
	for f, name := range tsbsFields {
		if f == 0 {
			b = append(b, ' ')
		} else {
			b = append(b, ',')
		}
		b = append(b, name...)
		b = append(b, '=')
		b = strconv.AppendInt(b, int64(h.vals[f]), 10)
		b = append(b, 'i')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '\n')
}

// generateCPU writes hosts × (duration / interval) lines, time by time, hosts in order.
func generateCPU(w io.Writer, seed uint64, hosts int, duration, interval time.Duration) (lines int64, err error) {
	hs := make([]*genHost, hosts)
	for i := range hs {
		hs[i] = newGenHost(seed, i)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var line []byte
	for t := time.Duration(0); t < duration; t += interval {
		ts := tsbsStart.Add(t).UnixNano()
		for _, h := range hs {
			line = h.appendLine(line[:0], ts)
			if _, err := bw.Write(line); err != nil {
				return lines, err
			}
			h.step()
			lines++
		}
	}
	return lines, bw.Flush()
}

func genCommand() *cobra.Command {
	var (
		hosts              int
		duration, interval time.Duration
		seed               uint64
		out                string
	)
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write the TSBS cpu-only data set as line protocol (deterministic: same flags, same bytes)",
		Example: "  chronogo-bench gen --hosts 100 --duration 24h -o /tmp/cpu-100h.lp     # 864,000 lines, 8.64M values\n" +
			"  chronogo-bench gen --hosts 1000 --duration 24h -o /tmp/cpu-1000h.lp   # 86.4M values",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if hosts <= 0 || duration <= 0 || interval <= 0 {
				return fmt.Errorf("--hosts, --duration and --interval must be positive")
			}
			var w io.Writer = c.OutOrStdout()
			if out != "-" {
				tmp := out + ".tmp"
				f, err := os.Create(tmp)
				if err != nil {
					return err
				}
				defer os.Remove(tmp)
				if _, err := generateCPU(f, seed, hosts, duration, interval); err != nil {
					f.Close()
					return fmt.Errorf("write %s: %w", tmp, err)
				}
				if err := f.Close(); err != nil {
					return err
				}
				return os.Rename(tmp, out) // a complete file or none
			}
			_, err := generateCPU(w, seed, hosts, duration, interval)
			return err
		},
	}
	cmd.Flags().IntVar(&hosts, "hosts", 100, "hosts (series sets of 10 fields)")
	cmd.Flags().DurationVar(&duration, "duration", 24*time.Hour, "time span from 2016-01-01T00:00:00Z")
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Second, "time between a host's points")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().StringVarP(&out, "out", "o", "-", "output file (- for stdout)")
	return cmd
}
