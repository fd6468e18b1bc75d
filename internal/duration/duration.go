// Package duration parses the durations users write in provider and resource
// arguments: Go durations ("30s", "720h", "1h30m") plus whole days ("90d"),
// which time.ParseDuration does not know.
package duration

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parse parses s as a positive duration. "90d" means 90 × 24h; a day count
// may not be combined with other units. Errors say what is wrong, not which
// value to use: what is a good example depends on the argument (a request
// timeout is seconds, a rotation period months), so callers add their own.
func Parse(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("the duration is empty; write a number and a unit (s, m, h, or d for days)")
	}
	if t != s {
		return 0, errors.New("the duration has leading or trailing spaces")
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: a day count must be a whole number followed by \"d\"", s)
		}
		if n > 100*365 {
			return 0, fmt.Errorf("%q is too long: at most 36500d (100 years)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: use a number and a unit (s, m, h, or d for days)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be greater than zero", s)
	}
	return d, nil
}
