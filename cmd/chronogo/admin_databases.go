package main

import (
	"context"
	"errors"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/httpapi"
)

// Databases lists every tenant's databases and collections (not the hidden ones of a $out),
// with what this node's vnodes hold of them and the plain collections' figures.
func (a nodeAdmin) Databases(ctx context.Context) (httpapi.DatabasesInfo, error) {
	out := httpapi.DatabasesInfo{Node: a.self, Databases: []httpapi.DatabaseInfo{}}
	tenants, err := a.mc.ListTenants(ctx)
	if err != nil {
		return out, err
	}
	stats, err := a.n.Stats(ctx)
	if err != nil {
		return out, err
	}
	type dbKey struct{ tenant, db string }
	here := map[dbKey]*httpapi.DatabaseInfo{}
	for _, s := range stats {
		d := here[dbKey{s.GetTenant(), s.GetDb()}]
		if d == nil {
			d = &httpapi.DatabaseInfo{}
			here[dbKey{s.GetTenant(), s.GetDb()}] = d
		}
		d.Vnodes++
		d.DiskBytes += s.GetDiskBytes()
		d.CacheBytes += s.GetCacheBytes()
		d.Series += s.GetSeries()
	}
	series := map[[3]string]int{} // tenant, db, table
	for _, ts := range a.n.TableSeries() {
		series[[3]string{ts.Tenant, ts.DB, ts.Table}] += ts.Series
	}
	for _, t := range tenants {
		dbs, err := a.mc.ListDatabases(ctx, t)
		if err != nil {
			return out, err
		}
		for _, d := range dbs {
			info := httpapi.DatabaseInfo{}
			if h := here[dbKey{t, d.Name}]; h != nil {
				info = *h
			}
			info.Tenant, info.Name, info.ReplicationFactor, info.ShardCount, info.Consistency = t, d.Name, d.ReplicationFactor, d.ShardCount, d.Consistency
			info.Collections = []httpapi.CollectionInfo{}
			colls, err := a.mc.ListCollections(ctx, t, d.Name)
			if err != nil && !errors.Is(err, meta.ErrDatabaseNotFound) {
				return out, err
			}
			var plainStats map[string]plain.Stats
			for _, c := range colls {
				if _, hidden := meta.HiddenKind(c.Name); hidden {
					continue
				}
				ci := httpapi.CollectionInfo{Name: c.Name, Type: "timeseries", TimeField: c.TimeField, MetaField: c.MetaField}
				if c.Plain() {
					ci.Type = "collection"
					if plainStats == nil {
						plainStats = a.plainStats(ctx, t, d.Name)
					}
					ci.Documents, ci.Bytes = plainStats[c.Name].Count, plainStats[c.Name].Bytes
				} else {
					ci.Series = series[[3]string{t, d.Name, c.TableName()}]
					if c.HasTTL {
						ci.ExpireAfterSeconds = &c.ExpireAfterSeconds
					}
				}
				info.Collections = append(info.Collections, ci)
			}
			out.Databases = append(out.Databases, info)
		}
	}
	return out, nil
}

// plainStats reads the plain collections' figures of a database (none when the plain store
// cannot be read: the console shows zeros rather than failing).
func (a nodeAdmin) plainStats(ctx context.Context, tenant, db string) map[string]plain.Stats {
	m, err := a.b.PlainDBStats(ctx, tenant, db)
	if err != nil {
		return map[string]plain.Stats{}
	}
	return m
}
