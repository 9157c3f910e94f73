package lineproto

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseCPU parses 5000 TSBS cpu-only lines (100 hosts × 50 times, 10 int fields).
func BenchmarkParseCPU(b *testing.B) {
	var sb strings.Builder
	for t := 0; t < 50; t++ {
		for h := 0; h < 100; h++ {
			fmt.Fprintf(&sb, "cpu,hostname=host_%d,region=eu-west-1,datacenter=eu-west-1a,rack=%d,os=Ubuntu16.10,arch=x64,team=LON,service=7,service_version=1,service_environment=test ", h, h%10)
			for f := 0; f < 10; f++ {
				if f > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, "usage_%d=%di", f, (h*7+f*13+t)%100)
			}
			fmt.Fprintf(&sb, " %d\n", 1451606400000000000+int64(t)*10_000_000_000)
		}
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out, err := Parse(data, "ns", 0)
		if err != nil || out.Values != 50000 {
			b.Fatal(err, out.Values)
		}
	}
	b.ReportMetric(float64(b.N)*50000/b.Elapsed().Seconds(), "values/s")
}
