package mongo

import (
	"math"
	"math/big"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// decimalToInt64 rounds a Decimal128 to the nearest integer, ties to even; false for NaN,
// infinities and values outside int64.
func decimalToInt64(d bson.Decimal128) (int64, bool) {
	coef, exp, err := d.BigInt()
	if err != nil {
		return 0, false
	}
	r := new(big.Rat).SetInt(coef)
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil)
	if exp >= 0 {
		r.Mul(r, new(big.Rat).SetInt(scale))
	} else {
		r.Quo(r, new(big.Rat).SetInt(scale))
	}
	// floor(r + 1/2), then step back to even on exact ties
	half := big.NewRat(1, 2)
	up := new(big.Rat).Add(r, half)
	q := new(big.Int).Div(up.Num(), up.Denom()) // Euclidean division: floor for a positive divisor
	if up.IsInt() && q.Bit(0) == 1 {
		q.Sub(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		if q.Sign() > 0 {
			return math.MaxInt64, true
		}
		return math.MinInt64, true
	}
	return q.Int64(), true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
