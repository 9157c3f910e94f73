package messages

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// dumpHex formats b as `hexdump -C` does (the format of FerretDB's testdata/*.hex files),
// without collapsing repeated lines.
func dumpHex(b []byte) string {
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		fmt.Fprintf(&sb, "%08x  ", off)
		for i := range 16 {
			switch {
			case i < len(line):
				fmt.Fprintf(&sb, "%02x ", line[i])
			default:
				sb.WriteString("   ")
			}
			if i == 7 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(" |")
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			sb.WriteByte(c)
		}
		sb.WriteString("|\n")
	}
	fmt.Fprintf(&sb, "%08x\n", len(b))
	return sb.String()
}

// parseHexDump reads the bytes back from a `hexdump -C` dump.
func parseHexDump(t *testing.T, dump string) []byte {
	t.Helper()
	var out []byte
	for _, line := range strings.Split(strings.TrimSpace(dump), "\n") {
		hexPart, _, ok := strings.Cut(line, "|")
		if !ok {
			continue // final offset line
		}
		fields := strings.Fields(hexPart)
		require.NotEmpty(t, fields, "line %q", line)
		for _, f := range fields[1:] {
			b, err := hex.DecodeString(f)
			require.NoError(t, err, "line %q", line)
			out = append(out, b...)
		}
	}
	return out
}

func TestHexDumpRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 40} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + 3)
		}
		require.Equal(t, b, append([]byte{}, parseHexDump(t, dumpHex(b))...), "n=%d", n)
	}
	require.Equal(t, "00000000  68 69                                             |hi|\n00000002\n", dumpHex([]byte("hi")))
}
