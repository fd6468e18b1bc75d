package registryserver

import (
	"sync"
	"time"
)

// rateLimiter is a token bucket per API key: perMinute tokens of capacity,
// refilled continuously at perMinute per minute. A full bucket lets a client
// burst perMinute requests, then one request every 60/perMinute seconds.
type rateLimiter struct {
	perMinute int

	mu      sync.Mutex
	buckets map[string]*tokenBucket // by API key hash; keys are few and never deleted
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute int) *rateLimiter {
	return &rateLimiter{perMinute: perMinute, buckets: map[string]*tokenBucket{}}
}

// reserve takes a token from key's bucket at time now. It returns 0 when the
// request may proceed, otherwise how long until a token will be available.
func (l *rateLimiter) reserve(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	capacity := float64(l.perMinute)
	perSecond := capacity / 60
	b, ok := l.buckets[key]
	if !ok {
		b = &tokenBucket{tokens: capacity, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(capacity, b.tokens+elapsed.Seconds()*perSecond)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / perSecond * float64(time.Second))
}
