package tsm

import (
	"encoding/binary"
	"fmt"

	"github.com/chronogo/chronogo/storage/tsm/codec"
)

// CopyBlock copies block m of key k from src into the file without decoding its values, as
// compaction does with blocks that need no merge. A block that stores version ids gets them
// renumbered into this file's table (its other bytes are kept); if its pairs do not fit the table
// any more, it is decoded and written with its own version and seq columns.
func (w *Writer) CopyBlock(k Key, m BlockMeta, src *Reader) error {
	if err := w.usable(); err != nil {
		return err
	}
	raw, err := src.ReadRawBlock(m)
	if err != nil {
		return err
	}
	if raw[0]&blockVersionsByID == 0 {
		return w.WriteRawBlock(k, m, raw)
	}
	if src.table == nil {
		return corrupt(src.path, m.Offset, fmt.Errorf("block flags %#02x: version ids, but the file has no version table", raw[0]))
	}
	out, ok, err := w.renumber(raw, &m, src.table)
	if err != nil {
		return corrupt(src.path, m.Offset, err)
	}
	if !ok {
		var b Block
		if err := src.ReadBlock(m, k.Type, &b); err != nil {
			return err
		}
		return w.WriteColumn(k, b.Times, &b.Values, b.Versions, b.Seqs)
	}
	m.Size = uint32(len(out))
	return w.writeRaw(k, m, out)
}

// renumber rebuilds a raw id block of another file (table tab) with ids into w's table, in
// w.copyBuf. It reports false when the block's pairs do not fit w's table.
func (w *Writer) renumber(raw []byte, m *BlockMeta, tab *versionTable) ([]byte, bool, error) {
	if err := checkMeta(m); err != nil {
		return nil, false, err
	}
	body := raw[:len(raw)-crcSize]
	flags := body[0]
	if flags&^blockKnownFlags != 0 || flags&(blockVersionsConst|blockSeqsConst) != 0 {
		return nil, false, fmt.Errorf("block flags %#02x: bad with version ids", flags)
	}
	d := decoder{b: body, pos: 1}
	if flags&blockTimesImplied == 0 {
		d.section()
	}
	if flags&blockHourSums != 0 {
		d.section()
	}
	head := d.pos
	ids := d.section()
	if d.err != nil {
		return nil, false, fmt.Errorf("block version ids: %w", d.err)
	}
	rest := body[d.pos:]
	var err error
	w.copySeqs, err = decodeColumn(w.copySeqs[:0], ids, int(m.Agg.Count), codec.DecodeUints)
	if err == nil {
		w.copyVers, err = idsToPairs(tab, m, w.copySeqs, w.copyVers[:0])
	}
	if err != nil {
		return nil, false, fmt.Errorf("block version ids: %w", err)
	}
	var ok bool
	w.enc.ids, ok = w.table.idsFor(w.enc.ids[:0], w.copyVers, w.copySeqs)
	if !ok {
		return nil, false, nil
	}
	w.enc.scratch = codec.EncodeUints(w.enc.scratch[:0], w.enc.ids)
	out := append(w.copyBuf[:0], body[:head]...)
	out = appendSection(out, w.enc.scratch)
	out = append(out, rest...)
	out = binary.BigEndian.AppendUint32(out, checksum(out))
	w.copyBuf = out
	return out, true, nil
}
