package backend

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

func TestWriteErr(t *testing.T) {
	partial := func(fails ...coordinator.ReplicaSetFailure) error {
		return fmt.Errorf("write: %w", &coordinator.PartialWriteError{Collection: "db.c", Level: coordinator.Quorum, Failed: fails, Succeeded: 1})
	}
	cases := []struct {
		name   string
		err    error
		code   mongoerr.Code // 0: a *mongo.WriteConcernError
		labels []string
	}{
		{"full disk", fmt.Errorf("wal: %w", syscall.ENOSPC), mongoerr.OutOfDiskSpace, nil},
		{"quota", fmt.Errorf("x: %w", meta.ErrQuotaExceeded), mongoerr.QuotaExceeded, nil},
		{"overloaded", fmt.Errorf("write: %w", coordinator.ErrOverloaded), mongoerr.IngressRequestRateLimitExceeded,
			[]string{mongoerr.LabelRetryableWrite, "SystemOverloadedError"}},
		{"partial, stored on a replica", partial(coordinator.ReplicaSetFailure{Acks: 1, Need: 2}), 0, nil},
		{"partial, hinted only", partial(coordinator.ReplicaSetFailure{Acks: 0, Need: 2, Hinted: 2}), 0, nil},
		{"partial, nowhere, transient", partial(coordinator.ReplicaSetFailure{Acks: 1, Need: 2},
			coordinator.ReplicaSetFailure{Need: 2, Retryable: true}), mongoerr.HostUnreachable, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := writeErr(c.err)
			if c.code == 0 {
				var wce *mongo.WriteConcernError
				require.True(t, errors.As(got, &wce), "%v", got)
				info := bson.Raw(wce.Info)
				require.Equal(t, "quorum", info.Lookup("writeConcern", "w").StringValue())
				sets, err := info.Lookup("replicaSets").Array().Values()
				require.NoError(t, err)
				require.Len(t, sets, 1)
				return
			}
			var me *mongoerr.Error
			require.True(t, errors.As(got, &me), "%v", got)
			require.Equal(t, c.code, me.Code)
			require.Equal(t, c.labels, me.Labels)
		})
	}
	// a transient failure everywhere it failed is retryable; one permanent failure is not
	got := writeErr(partial(coordinator.ReplicaSetFailure{Need: 2, Retryable: true}))
	var me *mongoerr.Error
	require.True(t, errors.As(got, &me))
	require.Equal(t, []string{mongoerr.LabelRetryableWrite}, me.Labels)
}
