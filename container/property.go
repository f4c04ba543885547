package container

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/nodeagent/node-agent/container/wire"
)

// ErrProperty is wrapped by the errors of Property: an invalid name or
// policy, a name already defined with other policies, too many properties.
var ErrProperty = errors.New("container: invalid property")

// Policy is how the values of a property are summarised per report
// interval, as TARS PropertyF does: Max, Min, Count, Sum, Avg and
// Distr(ranges).
type Policy struct {
	name   string
	ranges []float64
}

// The property policies. Avg is the mean of the values, Count their number,
// Distr (see the function) their distribution.
var (
	Max   = Policy{name: wire.PolicyMax}
	Min   = Policy{name: wire.PolicyMin}
	Count = Policy{name: wire.PolicyCount}
	Sum   = Policy{name: wire.PolicySum}
	Avg   = Policy{name: wire.PolicyAvg}
)

// Distr counts values by range: each value counts in the first range whose
// upper bound (inclusive) is ≥ the value. ranges must be ascending, at most
// wire.MaxRanges. TARS gets "bound|count" per range; a value above the last
// bound counts in no range there (as in @tars/monitor) and in the +Inf
// bucket of the Prometheus histogram.
func Distr(ranges ...float64) Policy {
	return Policy{name: wire.PolicyDistr, ranges: slices.Clone(ranges)}
}

// String returns the TARS name of the policy.
func (p Policy) String() string { return p.name }

// Property is a custom metric reported to TARS PropertyF and Prometheus.
// Report is safe for concurrent use and allocates nothing.
type Property struct {
	name     string
	policies []string
	ranges   []float64
	on       bool

	mu       sync.Mutex
	count    uint64
	sum      float64
	min, max float64
	distr    []uint64 // len(ranges)+1 when a Distr policy is set
}

// Property defines the property name with its policies, or returns the one
// already defined with the same policies. A worker has at most
// wire.MaxProperties; names are at most wire.MaxPropertyNameLen bytes of
// UTF-8. Names are reported as given (TARS property names conventionally
// start with the module name, "App.Server.queueDepth").
//
// With monitoring off the property is valid but Report does nothing.
func (w *Worker) Property(name string, policies ...Policy) (*Property, error) {
	p, err := newProperty(name, policies, w.monitor.on)
	if err != nil {
		return nil, err
	}
	return w.monitor.props.define(p)
}

func newProperty(name string, policies []Policy, on bool) (*Property, error) {
	if name == "" || len(name) > wire.MaxPropertyNameLen || !utf8.ValidString(name) {
		return nil, fmt.Errorf("%w: name %q: want 1 to %d bytes of UTF-8", ErrProperty, name, wire.MaxPropertyNameLen)
	}
	if len(policies) == 0 {
		return nil, fmt.Errorf("%w %q: no policy", ErrProperty, name)
	}
	p := &Property{name: name, on: on}
	for _, pol := range policies {
		switch pol.name {
		case wire.PolicyMax, wire.PolicyMin, wire.PolicyCount, wire.PolicySum, wire.PolicyAvg:
		case wire.PolicyDistr:
			if err := checkRanges(pol.ranges); err != nil {
				return nil, fmt.Errorf("%w %q: Distr %w", ErrProperty, name, err)
			}
			if p.ranges != nil {
				return nil, fmt.Errorf("%w %q: two Distr policies", ErrProperty, name)
			}
			p.ranges = pol.ranges
			p.distr = make([]uint64, len(pol.ranges)+1)
		default:
			return nil, fmt.Errorf("%w %q: the zero Policy is not a policy", ErrProperty, name)
		}
		if slices.Contains(p.policies, pol.name) {
			return nil, fmt.Errorf("%w %q: policy %s given twice", ErrProperty, name, pol.name)
		}
		p.policies = append(p.policies, pol.name)
	}
	return p, nil
}

func checkRanges(r []float64) error {
	if len(r) == 0 || len(r) > wire.MaxRanges {
		return fmt.Errorf("needs 1 to %d ranges, got %d", wire.MaxRanges, len(r))
	}
	for i, v := range r {
		if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v <= r[i-1]) {
			return fmt.Errorf("ranges %v: want finite, strictly ascending bounds", r)
		}
	}
	return nil
}

// Name returns the property's name.
func (p *Property) Name() string { return p.name }

// Report adds one value. NaN and infinities are ignored.
func (p *Property) Report(v float64) {
	if !p.on || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	p.mu.Lock()
	if p.count == 0 {
		p.min, p.max = v, v
	} else {
		p.min, p.max = min(p.min, v), max(p.max, v)
	}
	p.count++
	p.sum += v
	if p.distr != nil {
		p.distr[sort.SearchFloat64s(p.ranges, v)]++
	}
	p.mu.Unlock()
}

// take returns the values reported since the previous take and starts
// afresh; ok is false when there were none.
func (p *Property) take() (wire.Property, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count == 0 {
		return wire.Property{}, false
	}
	out := wire.Property{
		Name: p.name, Policies: p.policies,
		Count: p.count, Sum: p.sum, Min: p.min, Max: p.max,
	}
	if p.distr != nil {
		out.Ranges = p.ranges
		out.Distr = slices.Clone(p.distr)
		clear(p.distr)
	}
	p.count, p.sum, p.min, p.max = 0, 0, 0, 0
	return out, true
}

// propertySet is the properties of a worker.
type propertySet struct {
	mu     sync.Mutex
	byName map[string]*Property
	list   []*Property
}

func (s *propertySet) define(p *Property) (*Property, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byName[p.name]; ok {
		if !slices.Equal(old.policies, p.policies) || !slices.Equal(old.ranges, p.ranges) {
			return nil, fmt.Errorf("%w %q: already defined with policies %v", ErrProperty, p.name, old.policies)
		}
		return old, nil
	}
	if len(s.list) >= wire.MaxProperties {
		return nil, fmt.Errorf("%w %q: a worker has at most %d properties", ErrProperty, p.name, wire.MaxProperties)
	}
	s.byName[p.name] = p
	s.list = append(s.list, p)
	return p, nil
}

// take collects every property that had values since the previous take.
func (s *propertySet) take() []wire.Property {
	s.mu.Lock()
	list := s.list
	s.mu.Unlock()
	var out []wire.Property
	for _, p := range list {
		if v, ok := p.take(); ok {
			out = append(out, v)
		}
	}
	return out
}
