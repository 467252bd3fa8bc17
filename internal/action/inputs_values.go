package action

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-rollout/ecs-rollout/internal/report"
)

// The parsers of one value each (a boolean, a whole number, a duration, one
// of a list), shared by the groups of inputs. Each records its problem
// through p.add and returns the default, so that parsing goes on.

func (p *inputParser) enum(name, def string, allowed ...string) string {
	s := p.raw(name)
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a
		}
	}
	p.add(name, fmt.Sprintf("%q is not one of %s", report.Truncate(s, 80), strings.Join(allowed, ", ")))
	return def
}

// parseBool accepts true and false in any case, like the Actions toolkit.
func (p *inputParser) parseBool(name, s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.add(name, fmt.Sprintf("%q is not a boolean (true or false)", report.Truncate(s, 80)))
	return false, false
}

func (p *inputParser) boolean(name string, def bool) bool {
	s := p.raw(name)
	if s == "" {
		return def
	}
	b, ok := p.parseBool(name, s)
	if !ok {
		return def
	}
	return b
}

func (p *inputParser) parseInt(name, s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.add(name, fmt.Sprintf("%q is not a whole number", report.Truncate(s, 80)))
		return 0, false
	}
	return n, true
}

// percent parses an optional percentage input: nil when not given (or
// invalid, with the problem recorded).
func (p *inputParser) percent(name string, lo, hi int) *int32 {
	n, ok := p.optionalIntIn(name, lo, hi)
	if !ok {
		return nil
	}
	v := int32(n)
	return &v
}

func (p *inputParser) intIn(name string, def, lo, hi int) int {
	n, ok := p.optionalIntIn(name, lo, hi)
	if !ok {
		return def
	}
	return n
}

// optionalIntIn parses a whole-number input within [lo, hi]; ok is false
// when it is not given or invalid (the problem recorded).
func (p *inputParser) optionalIntIn(name string, lo, hi int) (int, bool) {
	s := p.raw(name)
	if s == "" {
		return 0, false
	}
	n, ok := p.parseInt(name, s)
	if !ok {
		return 0, false
	}
	if n < int64(lo) || n > int64(hi) {
		p.add(name, fmt.Sprintf("%d is out of range (%d to %d)", n, lo, hi))
		return 0, false
	}
	return int(n), true
}

// duration parses a Go duration (10m, 90s, 1h30m). lo is exclusive when 0
// (durations must be positive) and inclusive otherwise.
func (p *inputParser) duration(name string, def, lo, hi time.Duration) time.Duration {
	s := p.raw(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		hint := ""
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			hint = ": add a unit"
		}
		p.add(name, fmt.Sprintf("%q is not a duration (e.g. 10m)%s", report.Truncate(s, 80), hint))
		return 0
	}
	switch {
	case d <= 0:
		p.add(name, fmt.Sprintf("%s must be positive", d))
		return 0
	case d < lo:
		p.add(name, fmt.Sprintf("%s is too short (at least %s)", d, lo))
		return 0
	case d > hi:
		p.add(name, fmt.Sprintf("%s is too long (at most %s)", d, hi))
		return 0
	}
	return d
}

// durationText prints a duration the short way people write it: 10m, 5s,
// 1h30m (time.Duration.String would print 10m0s).
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
