package mongo

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// Tenant commands (CnosDB's tenants on the MongoDB wire), for cluster administrators, on admin:
//
//	{createTenant: "acme", quotas: {maxDatabases, maxSeries, maxBytes, maxWriteValuesPerSec}}
//	{updateTenant: "acme", quotas: {...}}   the quotas given replace all of them
//	{dropTenant: "acme"}                    refused while it has databases; its users go with it
//	{listTenants: 1}                        {tenants: [{name, quotas, databases, users}]}

// tenantArg reads the tenant a command names and checks the caller may manage tenants.
func tenantArg(s *Server, req *request) (string, error) {
	if s.cfg.Tenants == nil {
		return "", mongoerr.New(mongoerr.CommandNotSupported, "this server keeps no tenants")
	}
	if !s.clusterAdmin(req) {
		return "", mongoerr.New(mongoerr.Unauthorized, "not authorized on admin to execute command { %s: ... }: tenants are managed by cluster administrators", req.name)
	}
	if req.db != "admin" {
		return "", mongoerr.New(mongoerr.Unauthorized, "%s may only be run against the admin database.", req.name)
	}
	if req.name == "listTenants" {
		return "", nil
	}
	name, ok := req.doc.Lookup(req.name).StringValueOK()
	if !ok || name == "" {
		return "", mongoerr.New(mongoerr.BadValue, "%s needs the tenant name as a non-empty string", req.name)
	}
	if err := meta.ValidDatabaseName(name); err != nil {
		return "", mongoerr.New(mongoerr.BadValue, "invalid tenant name %q: %v", name, err)
	}
	return name, nil
}

// quotasArg reads {quotas: {...}}; absent fields are 0 (no limit).
func quotasArg(req *request) (meta.Quotas, error) {
	var q meta.Quotas
	doc, err := optDoc(req.doc, req.name, "quotas")
	if err != nil || doc == nil {
		return q, err
	}
	fields := map[string]*int64{"maxDatabases": &q.MaxDatabases, "maxSeries": &q.MaxSeries, "maxBytes": &q.MaxBytes,
		"maxWriteValuesPerSec": &q.MaxWriteValuesPerSec}
	els, err := doc.Elements()
	if err != nil {
		return q, mongoerr.New(mongoerr.BadValue, "quotas: %v", err)
	}
	for _, e := range els {
		dst, ok := fields[e.Key()]
		if !ok {
			return q, mongoerr.New(mongoerr.IDLUnknownField, "BSON field '%s.quotas.%s' is an unknown field.", req.name, e.Key())
		}
		n, ok := asInt64(e.Value())
		if !ok || !isNumber(e.Value()) || n < 0 {
			return q, mongoerr.New(mongoerr.BadValue, "quota %s must be a non-negative number", e.Key())
		}
		*dst = n
	}
	return q, nil
}

// tenantAndQuotas reads the tenant and the quotas of createTenant and updateTenant.
func tenantAndQuotas(s *Server, req *request) (string, meta.Quotas, error) {
	name, err := tenantArg(s, req)
	if err != nil {
		return "", meta.Quotas{}, err
	}
	q, err := quotasArg(req)
	return name, q, err
}

func msgCreateTenant(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	name, q, err := tenantAndQuotas(s, req)
	if err != nil {
		return nil, err
	}
	created, err := s.cfg.Tenants.CreateTenant(ctx, name, q)
	if err != nil {
		return nil, err
	}
	if !created {
		return nil, mongoerr.New(mongoerr.NamespaceExists, "tenant %q already exists", name)
	}
	return nil, nil
}

func msgUpdateTenant(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	name, q, err := tenantAndQuotas(s, req)
	if err != nil {
		return nil, err
	}
	return nil, tenantErr(name, s.cfg.Tenants.UpdateTenant(ctx, name, q))
}

func msgDropTenant(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	name, err := tenantArg(s, req)
	if err != nil {
		return nil, err
	}
	if name == meta.DefaultTenant {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "the default tenant cannot be dropped")
	}
	return nil, tenantErr(name, s.cfg.Tenants.DropTenant(ctx, name))
}

func msgListTenants(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	if _, err := tenantArg(s, req); err != nil {
		return nil, err
	}
	ts, err := s.cfg.Tenants.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	arr := bsoncore.NewArrayBuilder()
	for _, t := range ts {
		q := bsoncore.NewDocumentBuilder().AppendInt64("maxDatabases", t.Quotas.MaxDatabases).
			AppendInt64("maxSeries", t.Quotas.MaxSeries).AppendInt64("maxBytes", t.Quotas.MaxBytes).
			AppendInt64("maxWriteValuesPerSec", t.Quotas.MaxWriteValuesPerSec).Build()
		arr.AppendDocument(bsoncore.NewDocumentBuilder().AppendString("name", t.Name).AppendDocument("quotas", q).
			AppendInt32("databases", int32(t.Databases)).AppendInt32("users", int32(t.Users)).Build())
	}
	return bsoncore.NewDocumentBuilder().AppendArray("tenants", arr.Build()), nil
}

func tenantErr(name string, err error) error {
	switch {
	case errors.Is(err, meta.ErrTenantNotFound):
		return mongoerr.New(mongoerr.NamespaceNotFound, "tenant %q does not exist", name)
	case errors.Is(err, meta.ErrTenantNotEmpty):
		return mongoerr.New(mongoerr.IllegalOperation, "%v", err)
	}
	return err
}
