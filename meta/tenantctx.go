package meta

import "context"

type tenantKey struct{}

// WithTenant returns ctx carrying the tenant a request acts for (the authenticated user's).
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// TenantOf is the tenant ctx acts for: DefaultTenant when none was set (no access control).
func TenantOf(ctx context.Context) string {
	if t, ok := ctx.Value(tenantKey{}).(string); ok && t != "" {
		return t
	}
	return DefaultTenant
}
