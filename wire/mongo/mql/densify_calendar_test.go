package mql

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDensifyCalendarUnits: month, quarter and year steps count from the first value and clamp
// to the end of shorter months (Jan 31 + 1 month is Feb 29 in 2024, then Mar 31), as $dateAdd.
func TestDensifyCalendarUnits(t *testing.T) {
	day := func(y int, m time.Month, d int) string {
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05Z")
	}
	in := func(dates ...string) []string {
		var out []string
		for _, d := range dates {
			out = append(out, `{"t": {"$date": "`+d+`"}}`)
		}
		return out
	}
	cases := []struct {
		name, stage string
		input, want []string
	}{
		{"month from the 31st", `{"$densify": {"field": "t", "range": {"step": 1, "unit": "month", "bounds": "full"}}}`,
			in(day(2024, 1, 31), day(2024, 5, 31)), in(day(2024, 1, 31), day(2024, 2, 29), day(2024, 3, 31), day(2024, 4, 30), day(2024, 5, 31))},
		{"quarter in a range", `{"$densify": {"field": "t", "range": {"step": 1, "unit": "quarter", "bounds": [{"$date": "2023-01-01T00:00:00Z"}, {"$date": "2024-01-01T00:00:00Z"}]}}}`,
			in(day(2023, 5, 1)), in(day(2023, 1, 1), day(2023, 4, 1), day(2023, 5, 1), day(2023, 7, 1), day(2023, 10, 1))},
		{"two years", `{"$densify": {"field": "t", "range": {"step": 2, "unit": "year", "bounds": "full"}}}`,
			in(day(2020, 2, 29), day(2025, 1, 1)), in(day(2020, 2, 29), day(2022, 2, 28), day(2024, 2, 29), day(2025, 1, 1))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := runPipeline(t, []string{c.stage}, c.input, PipelineOptions{})
			require.NoError(t, err)
			var want []string
			for _, w := range c.want {
				want = append(want, ej(t, doc(t, w)))
			}
			require.Equal(t, want, got)
		})
	}
	_, err := runPipeline(t, []string{`{"$densify": {"field": "t", "range": {"step": 1.5, "unit": "month", "bounds": "full"}}}`}, nil, PipelineOptions{})
	require.Error(t, err)
}
