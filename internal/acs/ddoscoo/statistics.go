package ddoscoo

import (
	"math"
	"strconv"
	"time"

	"moat/internal/moat"
)

// Conversions shared by the layer-4 statistics actions: their times are
// UNIX seconds, their rates per second over the interval they describe.

// unixTime is a StartTime or EndTime parameter as a time.
func unixTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// perSecond is n spread over seconds, rounded up, so that an interval in
// which anything was counted never reports 0.
func perSecond(n, seconds int64) int64 {
	if n <= 0 || seconds <= 0 {
		return 0
	}
	return (n + seconds - 1) / seconds
}

// bucketSeconds is the width of one statistics bucket.
var bucketSeconds = int64(moat.StatsBucket / time.Second)

// trafficRegion is the Region (DescribePortFlowList, DescribeDDoSEvents)
// or Area (DescribeDDosAllEventList) of traffic: "cn" for the mainland,
// and for ap-southeast-1 the documented code of its Singapore scrubbing
// centre.
func trafficRegion(r moat.Region) string {
	if r == moat.RegionOverseas {
		return "alb-ap-southeast-gf-x"
	}
	return "cn"
}

// statsPort reads the optional Port parameter of the connection
// statistics: a frontend port as a string; absent or empty is every port.
func statsPort(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, moat.InvalidParamValue("Port", v, "it must be a port number from 1 to 65535")
	}
	if err := moat.CheckPort("Port", n); err != nil {
		return 0, err
	}
	return n, nil
}

// statsQuery builds the domain query of a statistics action. interval is
// nil for the actions that return no series; given, it is an int32 of
// seconds, at least 1.
func statsQuery(ids []string, start, end int64, interval *int, port int) (moat.StatsQuery, error) {
	q := moat.StatsQuery{InstanceIDs: ids, Start: unixTime(start), End: unixTime(end), Port: port}
	if interval != nil {
		if *interval < 1 || *interval > math.MaxInt32 {
			return moat.StatsQuery{}, moat.InvalidParam("Interval", "a positive number of seconds")
		}
		q.Interval = time.Duration(*interval) * time.Second
	}
	return q, nil
}

// eventRates are an event's peak bit rate and packet rate: moat measures
// a source's bytes and packets per second only against the byte and
// packet limits (Peak is in the limit's unit); other limits count
// connections, which are neither.
func eventRates(ev moat.MitigationEvent) (bps, pps int64) {
	switch ev.Limit {
	case moat.LimitSlimitBps:
		return ev.Peak * 8, 0
	case moat.LimitSlimitPps:
		return 0, ev.Peak
	}
	return 0, 0
}

// checkPage checks the required PageNumber and PageSize of the event
// lists: given as 0 or less they are refused, not read as the default.
func checkPage(number, size int) error {
	_, _, err := pageArgs(&number, &size)
	return err
}

// maxIntervalSeconds bounds an Interval before it becomes a duration: no
// span is longer (see moat.MaxStatsSpan).
const maxIntervalSeconds = int64(moat.MaxStatsSpan / time.Second)

// webStatsQuery builds the domain query of a website statistics action.
// end is nil when EndTime was not given; interval is nil for the actions
// that return no series, and given, a positive number of seconds.
func webStatsQuery(domain string, start int64, end, interval *int64) (moat.WebStatsQuery, error) {
	q := moat.WebStatsQuery{Domain: domain, Start: unixTime(start)}
	if end != nil {
		q.End = unixTime(*end)
	}
	if interval != nil {
		if *interval < 1 || *interval > maxIntervalSeconds {
			return moat.WebStatsQuery{}, moat.InvalidParam("Interval", "a positive number of seconds")
		}
		q.Interval = time.Duration(*interval) * time.Second
	}
	return q, nil
}
