package opsrpc

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/messages"
)

// fakeProvider runs op 7 of tenant "a".
type fakeProvider struct{ killed []int64 }

func (f *fakeProvider) CurrentOps(tenant string, all bool) [][]byte {
	if all || tenant == "a" {
		return [][]byte{{5, 0, 0, 0, 0}}
	}
	return nil
}

func (f *fakeProvider) KillOp(id int64, tenant string, all bool) bool {
	if id != 7 || (!all && tenant != "a") {
		return false
	}
	f.killed = append(f.killed, id)
	return true
}

func TestServe(t *testing.T) {
	var slot Slot
	r := Serve(&slot, &messages.OpsRequest{Tenant: "a"})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, r.GetCode(), "no listener yet")
	p := &fakeProvider{}
	slot.Set(p)
	require.Len(t, Serve(&slot, &messages.OpsRequest{Tenant: "a"}).GetOps(), 1)
	require.Empty(t, Serve(&slot, &messages.OpsRequest{Tenant: "b"}).GetOps(), "another tenant's commands are not listed")
	require.Len(t, Serve(&slot, &messages.OpsRequest{Tenant: "b", All: true}).GetOps(), 1)
	require.False(t, Serve(&slot, &messages.OpsRequest{Tenant: "b", KillOp: 7}).GetKilled(), "another tenant's command is not killed")
	require.False(t, Serve(&slot, &messages.OpsRequest{Tenant: "a", KillOp: 8}).GetKilled())
	require.True(t, Serve(&slot, &messages.OpsRequest{Tenant: "a", KillOp: 7}).GetKilled())
	require.Equal(t, []int64{7}, p.killed)
}
