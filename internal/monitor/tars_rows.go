package monitor

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/tars"
)

// statRows turns the interval's HTTP statistics into StatF rows, one per
// interface, sorted by name. As @tars/monitor reports HTTP servers: count
// is the successes, execCount the failures, timeoutCount 0, and the latency
// histogram, total, max and min are those of the successes, in ms, with
// requests over 3 s in the 3000 ms bucket.
func statRows(iv *interval, o TarsOptions) []tars.StatMicMsg {
	names := slices.Sorted(maps.Keys(iv.http))
	rows := make([]tars.StatMicMsg, 0, len(names))
	for _, name := range names {
		t := iv.http[name]
		ok, failed := t.success.Count(), t.failure.Count()
		if ok+failed == 0 {
			continue
		}
		hist := make(map[int32]int32, len(tars.StatIntervals))
		for i, bound := range tars.StatIntervals {
			hist[bound] = clamp32(t.success.Buckets[i])
		}
		last := tars.StatIntervals[len(tars.StatIntervals)-1]
		hist[last] = clamp32(t.success.Buckets[wire.LatencyBuckets-2] + t.success.Buckets[wire.LatencyBuckets-1])
		rows = append(rows, tars.StatMicMsg{
			Key: o.statHead(name),
			Value: tars.StatMicMsgBody{
				Count:         clamp32(ok),
				ExecCount:     clamp32(failed),
				IntervalCount: hist,
				TotalRspTime:  int64(millis(t.success.SumMicros)),
				MaxRspTime:    clamp32(millis(t.success.MaxMicros)),
				MinRspTime:    clamp32(millis(t.success.MinMicros)),
			},
		})
	}
	return rows
}

// propRows turns the interval's usage samples and properties into
// PropertyF rows: the usage properties first, "<module>.<name>" with Max,
// Min and Avg, then the custom properties by name with their policies.
// Properties without values are left out.
func propRows(iv *interval, o TarsOptions) []tars.StatPropMsg {
	module, setName, setArea, setID := o.setModule()
	head := func(name string) tars.StatPropMsgHead {
		return tars.StatPropMsgHead{ModuleName: module, IP: o.LocalIP, PropertyName: name,
			SetName: setName, SetArea: setArea, SetID: setID, IPropertyVer: PropertyVersion}
	}
	var rows []tars.StatPropMsg
	for _, n := range usageNames {
		s := iv.usage[n]
		if s.n == 0 {
			continue
		}
		rows = append(rows, tars.StatPropMsg{Key: head(o.ModuleName + "." + n), Value: tars.StatPropMsgBody{VInfo: []tars.StatPropInfo{
			{Policy: tars.PolicyMax, Value: formatValue(s.max)},
			{Policy: tars.PolicyMin, Value: formatValue(s.min)},
			{Policy: tars.PolicyAvg, Value: formatValue(s.sum / float64(s.n))},
		}}})
	}
	for _, name := range slices.Sorted(maps.Keys(iv.props)) {
		p := iv.props[name]
		info := make([]tars.StatPropInfo, 0, len(p.Policies))
		for _, pol := range p.Policies {
			info = append(info, tars.StatPropInfo{Policy: pol, Value: policyValue(p, pol)})
		}
		rows = append(rows, tars.StatPropMsg{Key: head(name), Value: tars.StatPropMsgBody{VInfo: info}})
	}
	return rows
}

// policyValue is the TARS value of one policy of p, which has values.
func policyValue(p *wire.Property, policy string) string {
	switch policy {
	case wire.PolicyMax:
		return formatValue(p.Max)
	case wire.PolicyMin:
		return formatValue(p.Min)
	case wire.PolicyCount:
		return strconv.FormatUint(p.Count, 10)
	case wire.PolicySum:
		return formatValue(p.Sum)
	case wire.PolicyAvg:
		return formatValue(p.Sum / float64(p.Count))
	case wire.PolicyDistr:
		var b strings.Builder
		for i, r := range p.Ranges {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(formatValue(r))
			b.WriteByte('|')
			b.WriteString(strconv.FormatUint(p.Distr[i], 10))
		}
		return b.String()
	}
	return ""
}

// formatValue writes v with at most 3 decimals and no exponent: "3",
// "2.5", "0.333".
func formatValue(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// millis converts microseconds to whole milliseconds, rounded.
func millis(us uint64) uint64 { return (us + 500) / 1000 }

func clamp32(n uint64) int32 { return int32(min(n, math.MaxInt32)) }

// split cuts rows into groups whose encoded map entries add up to at most
// limit bytes; a row larger than limit goes alone.
func split[K, V any, PK interface {
	*K
	tars.Struct
}, PV interface {
	*V
	tars.Struct
}](rows []tars.Pair[K, V], limit int) [][]tars.Pair[K, V] {
	// The rest of the arguments (the map's head and count, bFromClient)
	// take at most this much.
	const overhead = 16
	var (
		out  [][]tars.Pair[K, V]
		size = overhead
		from = 0
		w    tars.Buffer
	)
	for i := range rows {
		w.Reset()
		w.WriteStruct(0, PK(&rows[i].Key))
		w.WriteStruct(1, PV(&rows[i].Value))
		if i > from && size+w.Len() > limit {
			out = append(out, rows[from:i])
			from, size = i, overhead
		}
		size += w.Len()
	}
	if from < len(rows) {
		out = append(out, rows[from:])
	}
	return out
}

// setModule returns the module name with the set suffix TarsGo adds
// ("App.Server.<name><area><group>") and the set's parts, or the module
// name alone without a set.
func (o TarsOptions) setModule() (module, name, area, group string) {
	parts := strings.Split(o.Set, ".")
	if o.Set == "" || len(parts) != 3 {
		return o.ModuleName, "", "", ""
	}
	return o.ModuleName + "." + parts[0] + parts[1] + parts[2], parts[0], parts[1], parts[2]
}

// statHead is the head of the stat row of interface name.
func (o TarsOptions) statHead(name string) tars.StatMicMsgHead {
	module, setName, setArea, setID := o.setModule()
	return tars.StatMicMsgHead{
		MasterName:    StatMasterName,
		SlaveName:     module,
		InterfaceName: name,
		SlaveIP:       o.SlaveIP,
		SlavePort:     int32(o.SlavePort),
		SlaveSetName:  setName,
		SlaveSetArea:  setArea,
		SlaveSetID:    setID,
		TarsVersion:   o.TarsVersion,
	}
}
