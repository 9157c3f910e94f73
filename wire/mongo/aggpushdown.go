package mongo

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo/mql"
)

// aggregatePushdown runs a pipeline whose prefix the storage engine aggregates (see
// mql.PlanGroupPushdown). It reports false, having called out with nothing, when the data needs
// the document-by-document path after all.
func (s *Server) aggregatePushdown(ctx context.Context, c *meta.Collection, plan *mql.GroupPlan, out func(bson.Raw) error) (bool, error) {
	p := &Pushdown{MinTime: plan.Pushdown.MinTime, MaxTime: plan.Pushdown.MaxTime, Meta: plan.Pushdown.Meta, Exact: true}
	if p.MinTime > p.MaxTime {
		p.MinTime, p.MaxTime = 1, 0 // empty range: the backend reads nothing
	}
	run := plan.Start()
	var col mql.GroupColumn
	err := s.b.Aggregate(ctx, c, p, AggPlanQuery{Window: plan.Window, Origin: plan.Origin, LastOnly: plan.LastOnly(), SumsOnly: plan.SumsOnly(), ValueFields: plan.ValueFields()}, func(a *AggPart) error {
		col = mql.GroupColumn{Field: a.Field, Type: a.Type, Count: a.Count,
			Sum: a.Sum, Min: a.Min, Max: a.Max, First: a.First, Last: a.Last, SumOverflow: a.SumOverflow,
			FSum: a.FSum, FMin: a.FMin, FMax: a.FMax, FFirst: a.FFirst, FLast: a.FLast,
			FirstBytes: a.FirstBytes, LastBytes: a.LastBytes, FirstTime: a.FirstTime, LastTime: a.LastTime}
		return run.Add(a.Series, a.Meta, a.Start, &col)
	})
	if err != nil {
		return false, queryErr(err)
	}
	err = run.Finish(out)
	if errors.Is(err, mql.ErrNoPushdown) {
		s.log.WithFields(logrus.Fields{"db": c.DB, "collection": c.Name}).Debug("group pushdown fell back to the document path")
		return false, nil
	}
	if err != nil {
		return false, queryErr(err)
	}
	return true, nil
}
