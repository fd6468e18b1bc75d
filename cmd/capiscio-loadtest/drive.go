package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/capiscio/terraform-provider-capiscio/internal/keys"
	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// Operation kinds, in report order.
const (
	opCreate = "create"
	opReplay = "create-replay"
	opRotate = "rotate"
	opBadge  = "badge"
	opRead   = "read"
	opVerify = "verify-read"
)

var opOrder = []string{opCreate, opReplay, opRotate, opBadge, opRead, opVerify}

// server is what one client knows about a server it created: the did:key of
// every key the registry may hold for it. After an acknowledged PUT that is
// exactly the new key; a PUT without an answer (transport error, 5xx, the
// deadline) adds its key, since the registry may or may not have applied it.
type server struct {
	id       string
	did      string   // the did:web the registry assigned
	accepted []string // did:key values the registry may hold
}

// opStats are one client's (or, merged, all clients') figures for one kind.
type opStats struct {
	latencies []time.Duration // answered requests only
	s5xx      int
	bad       int // 4xx to valid requests, or a wrong answer
	transport int // transport errors other than the deadline
	examples  []string
}

func (s *opStats) failure(format string, args ...any) {
	if len(s.examples) < 3 {
		s.examples = append(s.examples, fmt.Sprintf(format, args...))
	}
}

// results is everything the clients saw.
type results struct {
	elapsed time.Duration
	ops     map[string]*opStats
	servers []*server
	badges  map[string]string // acknowledged jti -> server id
}

type client struct {
	http    *http.Client
	base    string
	apiKey  string
	rng     *rand.Rand
	ops     map[string]*opStats
	servers []*server
	badges  map[string]string
	// the last create, replayed with the same Idempotency-Key now and then
	lastIdem string
	lastBody []byte
	lastID   string
}

// drive runs n clients against base until d has passed.
func drive(base, apiKey string, n int, d time.Duration) *results {
	transport := &http.Transport{MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	ctx, cancel := withDeadline(d)
	defer cancel()
	clients := make([]*client, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		c := &client{
			http: hc, base: base, apiKey: apiKey,
			rng:    rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano()))),
			ops:    map[string]*opStats{},
			badges: map[string]string{},
		}
		for _, op := range opOrder {
			c.ops[op] = &opStats{}
		}
		clients[i] = c
		wg.Go(func() { c.loop(ctx, i) })
	}
	wg.Wait()
	res := &results{elapsed: time.Since(start), ops: map[string]*opStats{}, badges: map[string]string{}}
	for _, op := range opOrder {
		res.ops[op] = &opStats{}
	}
	for _, c := range clients {
		for op, st := range c.ops {
			m := res.ops[op]
			m.latencies = append(m.latencies, st.latencies...)
			m.s5xx += st.s5xx
			m.bad += st.bad
			m.transport += st.transport
			for _, e := range st.examples {
				m.failure("%s", e)
			}
		}
		res.servers = append(res.servers, c.servers...)
		for jti, id := range c.badges {
			res.badges[jti] = id
		}
	}
	transport.CloseIdleConnections()
	return res
}

// loop picks operations until ctx ends: a create when the client has no
// server yet, otherwise 20% creates (1 in 10 of them a replay), 25%
// rotations, 25% badges, 30% reads.
func (c *client) loop(ctx context.Context, n int) {
	for i := 0; ctx.Err() == nil; i++ {
		p := c.rng.IntN(100)
		switch {
		case len(c.servers) == 0 || p < 20:
			if c.lastIdem != "" && c.rng.IntN(10) == 0 {
				c.replay(ctx)
			} else {
				c.create(ctx, fmt.Sprintf("loadtest-%d-%d-%d", n, i, time.Now().UnixNano()))
			}
		case p < 45:
			c.rotate(ctx, c.servers[c.rng.IntN(len(c.servers))])
		case p < 70:
			c.badge(ctx, c.servers[c.rng.IntN(len(c.servers))])
		default:
			c.read(ctx, c.servers[c.rng.IntN(len(c.servers))])
		}
	}
}

// reply is one answered request.
type reply struct {
	status int
	body   []byte
}

// call sends one request and files its latency and failures under op. It
// returns nil when there was no answer (transport error or the deadline).
func (c *client) call(ctx context.Context, op, method, path string, body []byte, header map[string]string) *reply {
	st := c.ops[op]
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		st.transport++
		st.failure("%s %s: %v", method, path, err)
		return nil
	}
	req.Header.Set(protocol.HeaderAPIKey, c.apiKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err == nil {
		var raw []byte
		raw, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			st.latencies = append(st.latencies, time.Since(start))
			r := &reply{status: resp.StatusCode, body: raw}
			switch {
			case r.status >= 500:
				st.s5xx++
				st.failure("%s %s: %d %s", method, path, r.status, strings.TrimSpace(string(raw)))
			case r.status >= 400:
				st.bad++
				st.failure("%s %s: %d %s", method, path, r.status, strings.TrimSpace(string(raw)))
			}
			return r
		}
	}
	if ctx.Err() == nil {
		st.transport++
		st.failure("%s %s: %v", method, path, err)
	}
	return nil
}

func (c *client) newKey() keys.Material {
	m, err := keys.NewMaterial(nil)
	if err != nil {
		panic(err) // crypto/rand failed
	}
	return m
}

func (c *client) create(ctx context.Context, idem string) {
	m := c.newKey()
	body, _ := json.Marshal(protocol.CreateServerRequest{Name: idem, DID: m.DIDKey, PublicKey: m.PEM})
	r := c.call(ctx, opCreate, http.MethodPost, protocol.PathServers, body, map[string]string{protocol.HeaderIdempotencyKey: idem})
	var env protocol.Envelope[protocol.Server]
	if r == nil || r.status != http.StatusCreated || json.Unmarshal(r.body, &env) != nil || env.Data.ID == "" {
		return
	}
	c.servers = append(c.servers, &server{id: env.Data.ID, did: env.Data.DID, accepted: []string{m.DIDKey}})
	c.lastIdem, c.lastBody, c.lastID = idem, body, env.Data.ID
}

// replay repeats the client's last create with its Idempotency-Key: 200 with
// the same server, never a second one.
func (c *client) replay(ctx context.Context) {
	r := c.call(ctx, opReplay, http.MethodPost, protocol.PathServers, c.lastBody, map[string]string{protocol.HeaderIdempotencyKey: c.lastIdem})
	if r == nil || r.status >= 400 {
		return
	}
	var env protocol.Envelope[protocol.Server]
	if r.status != http.StatusOK || json.Unmarshal(r.body, &env) != nil || env.Data.ID != c.lastID {
		st := c.ops[opReplay]
		st.bad++
		st.failure("replay of %s: %d %s, want 200 with server %s", c.lastIdem, r.status, r.body, c.lastID)
	}
}

func (c *client) rotate(ctx context.Context, s *server) {
	m := c.newKey()
	body, _ := json.Marshal(protocol.RegisterKeyRequest{DID: m.DIDKey, PublicKey: m.PEM})
	r := c.call(ctx, opRotate, http.MethodPut, protocol.Path(protocol.PathServer, s.id), body, nil)
	switch {
	case r == nil || r.status >= 500:
		s.accepted = append(s.accepted, m.DIDKey) // maybe applied
	case r.status == http.StatusOK:
		s.accepted = []string{m.DIDKey}
	}
}

func (c *client) badge(ctx context.Context, s *server) {
	r := c.call(ctx, opBadge, http.MethodPost, protocol.Path(protocol.PathServerBadge, s.id), []byte(`{}`), nil)
	var env protocol.Envelope[protocol.Badge]
	if r == nil || r.status != http.StatusCreated || json.Unmarshal(r.body, &env) != nil || env.Data.JTI == "" {
		return
	}
	c.badges[env.Data.JTI] = s.id
}

// read gets a server and checks it holds a key this client may have set.
func (c *client) read(ctx context.Context, s *server) {
	r := c.call(ctx, opRead, http.MethodGet, protocol.Path(protocol.PathServer, s.id), nil, nil)
	if r == nil || r.status != http.StatusOK {
		return
	}
	var env protocol.Envelope[protocol.Server]
	if err := json.Unmarshal(r.body, &env); err != nil || !contains(s.accepted, env.Data.DIDKey) {
		st := c.ops[opRead]
		st.bad++
		st.failure("read %s: key %s is not one this client set (%v)", s.id, env.Data.DIDKey, err)
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
