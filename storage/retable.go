package storage

import "fmt"

// KeyTableBytes returns the table of a marshaled series key without decoding its tags: its bytes
// inside key (no copy).
func KeyTableBytes(key []byte) ([]byte, error) {
	table, _, err := readBytes(key)
	if err != nil {
		return nil, fmt.Errorf("series key table: %w", err)
	}
	return table, nil
}

// Retable moves every series of b from table from into table to: each key's table is
// replaced (its tags are kept byte for byte). A key of another table is an ErrInvalidBatch, and
// leaves b as it was. It is per series, not per point: a collection whose points live in a table
// of another name ($out) takes writes named after the collection.
func (b *Batch) Retable(from, to string) error {
	if from == to {
		return nil
	}
	keys := make([][]byte, len(b.Series))
	for i := range b.Series {
		table, rest, err := readBytes(b.Series[i].Key)
		if err != nil || string(table) != from {
			return fmt.Errorf("%w: series %d does not belong to table %q", ErrInvalidBatch, i, from)
		}
		k := appendString(make([]byte, 0, len(rest)+len(to)+2), to)
		if len(k)+len(rest) > MaxSeriesKeyLen {
			return fmt.Errorf("%w: series %d: key of %d bytes in table %q: longer than %d", ErrInvalidBatch, i, len(k)+len(rest), to, MaxSeriesKeyLen)
		}
		keys[i] = append(k, rest...)
	}
	for i := range b.Series {
		b.Series[i].Key = keys[i]
	}
	return nil
}
