package mql

import (
	"bytes"
	"math/rand/v2"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// compileSample compiles {$sample: {size: n}}: n documents chosen uniformly at random from the
// input (all of them, in random order, when there are fewer), held in memory (reservoir sampling)
// up to the sort memory.
func compileSample(arg bson.RawValue, o PipelineOptions) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(28745, "the $sample stage specification must be an object")
	}
	els, _ := elements(arg.Value)
	var size int64 = -1
	for _, e := range els {
		if e.key != "size" {
			return nil, errf(28748, "unrecognized option to $sample: %s", e.key)
		}
		if !isNumber(e.val.Type) {
			return nil, errf(28746, "size argument to $sample must be a number")
		}
		f, _ := e.val.AsFloat64OK()
		if f < 0 {
			return nil, errf(28747, "size argument to $sample must not be negative")
		}
		size = int64(f)
	}
	if size < 0 {
		return nil, errf(28749, "$sample stage must specify a size")
	}
	mem := o.Sort.Memory
	if mem <= 0 {
		mem = DefaultSortMemory
	}
	return sampleSpec{size: size, mem: mem}, nil
}

type sampleSpec struct{ size, mem int64 }

func (s sampleSpec) start() stage {
	return &sampleStage{sampleSpec: s, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

type sampleStage struct {
	sampleSpec
	rnd   *rand.Rand
	seen  int64
	held  int64
	picks [][]byte
}

func (s *sampleStage) process(doc []byte, _ func([]byte) error) error {
	s.seen++
	switch {
	case int64(len(s.picks)) < s.size:
		s.picks = append(s.picks, bytes.Clone(doc))
		s.held += int64(len(doc))
	default:
		if j := s.rnd.Int64N(s.seen); j < s.size {
			s.held += int64(len(doc)) - int64(len(s.picks[j]))
			s.picks[j] = bytes.Clone(doc)
		}
	}
	if s.held > s.mem {
		return errf(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed,
			"$sample of %d documents holds more than the %d bytes a blocking stage may use", s.size, s.mem)
	}
	return nil
}

func (s *sampleStage) flush(emit func([]byte) error) error {
	s.rnd.Shuffle(len(s.picks), func(i, j int) { s.picks[i], s.picks[j] = s.picks[j], s.picks[i] })
	for _, d := range s.picks {
		if err := emit(d); err != nil {
			return err
		}
	}
	return nil
}
