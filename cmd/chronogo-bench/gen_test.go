package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/lineproto"
)

// TestGenerateCPU: the generator writes hosts × steps lines of the TSBS cpu-only shape (ten tags,
// ten integer fields in [0, 100], 10 s apart) that the server's line-protocol parser reads, the
// same bytes for the same flags, host i the same whatever the number of hosts, and fields that
// walk (small steps), not noise.
func TestGenerateCPU(t *testing.T) {
	var a, b, five bytes.Buffer
	n, err := generateCPU(&a, 1, 3, time.Hour, 10*time.Second)
	require.NoError(t, err)
	require.EqualValues(t, 3*360, n)
	_, err = generateCPU(&b, 1, 3, time.Hour, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, a.String(), b.String(), "deterministic")
	_, err = generateCPU(&five, 1, 5, 10*time.Second, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, strings.SplitN(a.String(), "\n", 4)[:3], strings.SplitN(five.String(), "\n", 6)[:3], "hosts 0-2 do not depend on the host count")

	batches, err := lineproto.Parse(a.Bytes(), "ns", 0)
	require.NoError(t, err)
	require.Equal(t, 3*360, batches.Lines)
	require.Equal(t, 3*360*10, batches.Values)
	cpu := batches.ByMeasurement["cpu"]
	require.NotNil(t, cpu)
	require.Len(t, cpu.Series, 3)
	var steps, bigSteps int
	for _, s := range cpu.Series {
		k, err := storage.UnmarshalSeriesKey(s.Key)
		require.NoError(t, err)
		require.Len(t, k.Tags, 10)
		require.Len(t, s.Fields, 10)
		require.Len(t, s.Times, 360)
		require.Equal(t, time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), s.Times[0])
		require.Equal(t, int64(10e9), s.Times[1]-s.Times[0])
		for _, f := range s.Fields {
			require.Equal(t, storage.TypeInt64, f.Values.Type)
			for i, v := range f.Values.Ints {
				require.True(t, v >= 0 && v <= 100, "%s=%d", f.Name, v)
				if i > 0 {
					steps++
					if d := v - f.Values.Ints[i-1]; d > 3 || d < -3 {
						bigSteps++
					}
				}
			}
		}
	}
	require.Less(t, bigSteps*100, steps, "a random walk with unit steps rarely moves more than 3")
}
