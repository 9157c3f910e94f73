package catalog

import "github.com/chronogo/chronogo/meta/model"

// replaceCollection puts time-series collection c.From in c.Name's place: the new entry keeps
// From's options and table (its data) and Name's indexes, as MongoDB's $out keeps the target's;
// Name's former entry moves to the hidden name c.Retire, keeping its table, so that its data can
// be dropped afterwards (and found again after a crash). Readers see the old collection or the
// new one, never a mix.
func replaceCollection(s *State, c Command) Result {
	d := s.database(c.Tenant, c.DB)
	if d == nil {
		return Result{Code: CodeDatabaseNotFound}
	}
	from := d.Collections[c.From]
	switch {
	case from == nil:
		return Result{Code: CodeCollectionNotFound}
	case c.From == c.Name || c.Name == "":
		return invalid("replace %q by itself", c.Name)
	case from.Plain():
		return invalid("collection %q is not a time series", c.From)
	}
	next := cloneCollection(from)
	next.Name, next.Table = c.Name, from.TableName()
	var dropped []string
	if old := d.Collections[c.Name]; old != nil {
		switch {
		case old.Plain():
			return invalid("collection %q is not a time series", c.Name)
		case c.Retire == "" || c.Retire == c.Name || c.Retire == c.From || d.Collections[c.Retire] != nil:
			return invalid("retire name %q is empty or taken", c.Retire)
		}
		retired := cloneCollection(old)
		retired.Name, retired.Table = c.Retire, old.TableName()
		d.Collections[c.Retire] = retired
		next.Indexes = cloneCollection(&model.Collection{Indexes: old.Indexes}).Indexes
		dropped = []string{c.Retire}
	}
	delete(d.Collections, c.From)
	d.Collections[c.Name] = next
	s.Version++
	return Result{Code: CodeOK, Collection: cloneCollection(next), Dropped: dropped}
}

// tableTaken reports whether a collection of d keeps its points in table.
func (d *Database) tableTaken(table string) bool {
	for _, c := range d.Collections {
		if c.TableName() == table {
			return true
		}
	}
	return false
}
