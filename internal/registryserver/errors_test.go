package registryserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

// errorFixture is the state the error table runs against.
type errorFixture struct {
	reg      *registrytest.Registry
	key      testKey
	id       string // a server of the dev org
	disabled string // a disabled server of the dev org
	otherID  string // a server of the other org
	jti      string // a badge of the dev org
	otherJTI string // a badge of the other org
}

func newErrorFixture(t *testing.T) errorFixture {
	reg := start(t)
	fx := errorFixture{reg: reg, key: newKey(t)}
	fx.id = createServer(t, reg, reg.APIKey, fx.key, "mine").ID
	fx.disabled = createServer(t, reg, reg.APIKey, fx.key, "off").ID
	resp, raw := reg.Do(t, http.MethodPost, pathOf(protocol.PathServerDisable, fx.disabled), nil)
	wantStatus(t, resp, raw, http.StatusOK)
	fx.otherID = createServer(t, reg, reg.SecondOrgKey(t), fx.key, "theirs").ID
	fx.jti = issueBadge(t, reg, fx.id, nil).JTI
	resp, raw = reg.DoWithKey(t, reg.SecondOrgKey(t), http.MethodPost, pathOf(protocol.PathServerBadge, fx.otherID), nil)
	wantStatus(t, resp, raw, http.StatusCreated)
	fx.otherJTI = decodeData[protocol.Badge](t, raw).JTI
	return fx
}

// errorCase is one request that must fail cleanly.
type errorCase struct {
	method   string
	path     string
	body     any               // nil, string/[]byte (raw) or a value (JSON)
	key      string            // "dev" (default), "none", "bad"
	header   map[string]string // extra headers
	status   int
	code     string
	message  string // substring of the message
	allowHas string // substring of the Allow header (405)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	fx := newErrorFixture(t)
	for name, tc := range errorCases(t, fx) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runErrorCase(t, fx, tc)
		})
	}
}

func errorCases(t *testing.T, fx errorFixture) map[string]errorCase {
	good := fx.key.registerBody()
	other := newKey(t)
	unknown := uuid.NewString()
	cases := map[string]errorCase{
		// Authentication (401 names the header).
		"no API key":      {method: http.MethodGet, path: protocol.PathServers, key: "none", status: 401, code: protocol.CodeUnauthorized, message: protocol.HeaderAPIKey},
		"unknown API key": {method: http.MethodGet, path: protocol.PathServers, key: "bad", status: 401, code: protocol.CodeUnauthorized, message: protocol.HeaderAPIKey},
		"bearer token":    {method: http.MethodGet, path: protocol.PathServers, key: "none", header: map[string]string{"Authorization": "Bearer " + fx.reg.APIKey}, status: 401, code: protocol.CodeUnauthorized, message: "Bearer"},

		// Routing.
		"unknown route":            {method: http.MethodGet, path: "/v2/nothing", status: 404, code: protocol.CodeNoRoute},
		"unknown sdk route":        {method: http.MethodGet, path: "/v1/sdk/agents", status: 404, code: protocol.CodeNoRoute},
		"wrong method on server":   {method: http.MethodPatch, path: pathOf(protocol.PathServer, fx.id), status: 405, code: protocol.CodeMethodNotAllowed, allowHas: "PUT"},
		"wrong method on list":     {method: http.MethodDelete, path: protocol.PathServers, status: 405, code: protocol.CodeMethodNotAllowed, allowHas: "POST"},
		"wrong method on health":   {method: http.MethodPost, path: protocol.PathHealth, status: 405, code: protocol.CodeMethodNotAllowed, allowHas: "GET"},
		"wrong method on badge":    {method: http.MethodGet, path: pathOf(protocol.PathServerBadge, fx.id), status: 405, code: protocol.CodeMethodNotAllowed, allowHas: "POST"},
		"wrong method on revoke":   {method: http.MethodPut, path: pathOf(protocol.PathBadgeRevoke, fx.jti), status: 405, code: protocol.CodeMethodNotAllowed, allowHas: "POST"},
		"wrong method on did.json": {method: http.MethodPost, path: pathOf(protocol.PathDIDDocument, fx.id), status: 405, code: protocol.CodeMethodNotAllowed, allowHas: "GET"},

		// Ids that are not canonical UUIDs, and unknown ids.
		"non-UUID GET":                {method: http.MethodGet, path: pathOf(protocol.PathServer, "test-reg-1234"), status: 404, code: protocol.CodeNotFound},
		"non-UUID PUT":                {method: http.MethodPut, path: pathOf(protocol.PathServer, "test-reg-1234"), body: good, status: 404, code: protocol.CodeNotFound},
		"uppercase UUID":              {method: http.MethodGet, path: pathOf(protocol.PathServer, strings.ToUpper(fx.id)), status: 404, code: protocol.CodeNotFound},
		"unknown id PUT":              {method: http.MethodPut, path: pathOf(protocol.PathServer, unknown), body: good, status: 404, code: protocol.CodeNotFound, message: unknown},
		"unknown id DELETE":           {method: http.MethodDelete, path: pathOf(protocol.PathServer, unknown), status: 404, code: protocol.CodeNotFound},
		"unknown id badge":            {method: http.MethodPost, path: pathOf(protocol.PathServerBadge, unknown), status: 404, code: protocol.CodeNotFound},
		"non-UUID badge":              {method: http.MethodPost, path: pathOf(protocol.PathServerBadge, "x"), status: 404, code: protocol.CodeNotFound},
		"unknown server status":       {method: http.MethodGet, path: pathOf(protocol.PathServerStatus, unknown), key: "none", status: 404, code: protocol.CodeNotFound},
		"non-UUID server status":      {method: http.MethodGet, path: pathOf(protocol.PathServerStatus, "x"), key: "none", status: 404, code: protocol.CodeNotFound},
		"unknown did.json":            {method: http.MethodGet, path: pathOf(protocol.PathDIDDocument, unknown), key: "none", status: 404, code: protocol.CodeNotFound},
		"unknown badge status":        {method: http.MethodGet, path: pathOf(protocol.PathBadgeStatus, unknown), key: "none", status: 404, code: protocol.CodeNotFound},
		"unknown server badge status": {method: http.MethodGet, path: pathOf(protocol.PathServerBadgeStat, unknown), key: "none", status: 404, code: protocol.CodeNotFound},
		"non-UUID badge status":       {method: http.MethodGet, path: pathOf(protocol.PathBadgeStatus, "abc"), key: "none", status: 404, code: protocol.CodeNotFound},
		"unknown badge revoke":        {method: http.MethodPost, path: pathOf(protocol.PathBadgeRevoke, unknown), status: 404, code: protocol.CodeNotFound},

		// Tenancy: another organisation's records are 404, never 403.
		"other org GET":     {method: http.MethodGet, path: pathOf(protocol.PathServer, fx.otherID), status: 404, code: protocol.CodeNotFound},
		"other org PUT":     {method: http.MethodPut, path: pathOf(protocol.PathServer, fx.otherID), body: good, status: 404, code: protocol.CodeNotFound},
		"other org DELETE":  {method: http.MethodDelete, path: pathOf(protocol.PathServer, fx.otherID), status: 404, code: protocol.CodeNotFound},
		"other org disable": {method: http.MethodPost, path: pathOf(protocol.PathServerDisable, fx.otherID), status: 404, code: protocol.CodeNotFound},
		"other org enable":  {method: http.MethodPost, path: pathOf(protocol.PathServerEnable, fx.otherID), status: 404, code: protocol.CodeNotFound},
		"other org badge":   {method: http.MethodPost, path: pathOf(protocol.PathServerBadge, fx.otherID), status: 404, code: protocol.CodeNotFound},
		"other org revoke":  {method: http.MethodPost, path: pathOf(protocol.PathBadgeRevoke, fx.otherJTI), status: 404, code: protocol.CodeNotFound},

		// Discovery (S3, S7) is not supported.
		"discover":        {method: http.MethodPost, path: "/v1/sdk/servers/discover", status: 404, code: protocol.CodeNoRoute, message: "not supported"},
		"server discover": {method: http.MethodPost, path: pathOf("/v1/sdk/servers/{id}/discover", fx.id), status: 404, code: protocol.CodeNoRoute, message: "not supported"},

		// Disabled servers get no badges.
		"badge for disabled server": {method: http.MethodPost, path: pathOf(protocol.PathServerBadge, fx.disabled), status: 403, code: protocol.CodeServerDisabled, message: "disabled"},

		// Bodies.
		"too large (Content-Length)": {method: http.MethodPost, path: protocol.PathServers, body: strings.Repeat(" ", protocol.MaxBodyBytes+1), status: 413, code: protocol.CodeBodyTooLarge},
		"too large PUT":              {method: http.MethodPut, path: pathOf(protocol.PathServer, fx.id), body: `{"name":"` + strings.Repeat("a", protocol.MaxBodyBytes) + `"}`, status: 413, code: protocol.CodeBodyTooLarge},
		"empty body on create":       {method: http.MethodPost, path: protocol.PathServers, body: "", status: 400, code: protocol.CodeInvalidJSON, message: "empty"},
		"malformed JSON":             {method: http.MethodPost, path: protocol.PathServers, body: `{"name":`, status: 400, code: protocol.CodeInvalidJSON},
		"not JSON":                   {method: http.MethodPut, path: pathOf(protocol.PathServer, fx.id), body: `did=x`, status: 400, code: protocol.CodeInvalidJSON},
		"JSON array":                 {method: http.MethodPost, path: protocol.PathServers, body: `[]`, status: 400, code: protocol.CodeInvalidJSON, message: "object"},
		"field of wrong type":        {method: http.MethodPost, path: protocol.PathServers, body: `{"name":5}`, status: 400, code: protocol.CodeInvalidJSON, message: `"name"`},
		"trailing data":              {method: http.MethodPost, path: protocol.PathServers, body: `{} {}`, status: 400, code: protocol.CodeInvalidJSON, message: "after"},
		"badge body not JSON":        {method: http.MethodPost, path: pathOf(protocol.PathServerBadge, fx.id), body: `domain`, status: 400, code: protocol.CodeInvalidJSON},
		"badge domain wrong type":    {method: http.MethodPost, path: pathOf(protocol.PathServerBadge, fx.id), body: `{"domain":["a"]}`, status: 400, code: protocol.CodeInvalidJSON, message: `"domain"`},
		"revoke body wrong type":     {method: http.MethodPost, path: pathOf(protocol.PathBadgeRevoke, fx.jti), body: `{"reason":1}`, status: 400, code: protocol.CodeInvalidJSON},

		// Keys and DIDs.
		"missing publicKey":      {method: http.MethodPost, path: protocol.PathServers, body: map[string]string{"did": fx.key.did}, status: 400, code: protocol.CodeInvalidPublicKey, message: "required"},
		"publicKey not PEM":      {method: http.MethodPost, path: protocol.PathServers, body: map[string]string{"did": fx.key.did, "publicKey": "MCowBQYDK2VwAyEA"}, status: 400, code: protocol.CodeInvalidPublicKey, message: "not PEM"},
		"publicKey is private":   {method: http.MethodPut, path: pathOf(protocol.PathServer, fx.id), body: map[string]string{"did": fx.key.did, "publicKey": privatePEM(t, fx.key)}, status: 400, code: protocol.CodeInvalidPublicKey, message: "private key"},
		"publicKey is ECDSA":     {method: http.MethodPost, path: protocol.PathServers, body: map[string]string{"did": fx.key.did, "publicKey": ecdsaPEM(t)}, status: 400, code: protocol.CodeInvalidPublicKey, message: "Ed25519"},
		"missing did":            {method: http.MethodPost, path: protocol.PathServers, body: map[string]string{"publicKey": fx.key.pem}, status: 400, code: protocol.CodeInvalidDID, message: fx.key.did},
		"did of another key":     {method: http.MethodPut, path: pathOf(protocol.PathServer, fx.id), body: map[string]string{"did": other.did, "publicKey": fx.key.pem}, status: 400, code: protocol.CodeInvalidDID, message: fx.key.did},
		"did that is a did:web":  {method: http.MethodPost, path: protocol.PathServers, body: map[string]string{"did": "did:web:example.com", "publicKey": fx.key.pem}, status: 400, code: protocol.CodeInvalidDID},
		"name too long":          {method: http.MethodPost, path: protocol.PathServers, body: protocol.CreateServerRequest{Name: strings.Repeat("n", 201), DID: fx.key.did, PublicKey: fx.key.pem}, status: 400, code: protocol.CodeBadRequest, message: "200"},
		"name with control char": {method: http.MethodPut, path: pathOf(protocol.PathServer, fx.id), body: protocol.RegisterKeyRequest{Name: "a\x00b", DID: fx.key.did, PublicKey: fx.key.pem}, status: 400, code: protocol.CodeBadRequest},
		"domain with scheme":     {method: http.MethodPost, path: pathOf(protocol.PathServerBadge, fx.id), body: protocol.BadgeRequest{Domain: "https://example.com"}, status: 400, code: protocol.CodeBadRequest, message: "host name"},
		"reason too long":        {method: http.MethodPost, path: pathOf(protocol.PathBadgeRevoke, fx.jti), body: protocol.RevokeRequest{Reason: strings.Repeat("r", 201)}, status: 400, code: protocol.CodeBadRequest},

		// Query parameters.
		"list limit 0":           {method: http.MethodGet, path: protocol.PathServers + "?limit=0", status: 400, code: protocol.CodeBadRequest, message: "limit"},
		"list limit 1001":        {method: http.MethodGet, path: protocol.PathServers + "?limit=1001", status: 400, code: protocol.CodeBadRequest, message: "limit"},
		"list limit text":        {method: http.MethodGet, path: protocol.PathServers + "?limit=ten", status: 400, code: protocol.CodeBadRequest, message: "limit"},
		"list bad cursor":        {method: http.MethodGet, path: protocol.PathServers + "?cursor=not*base64", status: 400, code: protocol.CodeBadRequest, message: "cursor"},
		"list short cursor":      {method: http.MethodGet, path: protocol.PathServers + "?cursor=AAAA", status: 400, code: protocol.CodeBadRequest, message: "cursor"},
		"revocations bad since":  {method: http.MethodGet, path: protocol.PathRevocations + "?since=yesterday", key: "none", status: 400, code: protocol.CodeBadRequest, message: "RFC 3339"},
		"revocations bad cursor": {method: http.MethodGet, path: protocol.PathRevocations + "?cursor=AA", key: "none", status: 400, code: protocol.CodeBadRequest, message: "cursor"},
		"revocations bad limit":  {method: http.MethodGet, path: protocol.PathRevocations + "?limit=-1", key: "none", status: 400, code: protocol.CodeBadRequest, message: "limit"},

		// Strict query parameters: one spelling per value, each parameter once.
		"list cursor past the last sequence": {method: http.MethodGet, path: protocol.PathServers + "?cursor=__________8", status: 400, code: protocol.CodeBadRequest, message: "out of range"},
		"list cursor of sequence 0":          {method: http.MethodGet, path: protocol.PathServers + "?cursor=AAAAAAAAAAA", status: 400, code: protocol.CodeBadRequest, message: "out of range"},
		"list cursor with padding bits":      {method: http.MethodGet, path: protocol.PathServers + "?cursor=AAAAAAAAAAF", status: 400, code: protocol.CodeBadRequest, message: "cursor"},
		"list cursor with padding":           {method: http.MethodGet, path: protocol.PathServers + "?cursor=AAAAAAAAAAE%3D", status: 400, code: protocol.CodeBadRequest, message: "cursor"},
		"list limit with sign":               {method: http.MethodGet, path: protocol.PathServers + "?limit=%2B5", status: 400, code: protocol.CodeBadRequest, message: "limit"},
		"list limit with leading zero":       {method: http.MethodGet, path: protocol.PathServers + "?limit=05", status: 400, code: protocol.CodeBadRequest, message: "limit"},
		"list limit overflowing int":         {method: http.MethodGet, path: protocol.PathServers + "?limit=99999999999999999999", status: 400, code: protocol.CodeBadRequest, message: "limit"},
		"list limit twice":                   {method: http.MethodGet, path: protocol.PathServers + "?limit=1&limit=2", status: 400, code: protocol.CodeBadRequest, message: "limit is given 2 times"},
		"list limit twice, same value":       {method: http.MethodGet, path: protocol.PathServers + "?limit=1&limit=1", status: 400, code: protocol.CodeBadRequest, message: "limit is given 2 times"},
		"list cursor twice":                  {method: http.MethodGet, path: protocol.PathServers + "?cursor=a&cursor=b", status: 400, code: protocol.CodeBadRequest, message: "cursor is given 2 times"},
		"list malformed query":               {method: http.MethodGet, path: protocol.PathServers + "?limit=%zz", status: 400, code: protocol.CodeBadRequest, message: "malformed"},
		"revocations since twice":            {method: http.MethodGet, path: protocol.PathRevocations + "?since=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z", key: "none", status: 400, code: protocol.CodeBadRequest, message: "since is given 2 times"},
		"revocations limit twice":            {method: http.MethodGet, path: protocol.PathRevocations + "?limit=1&limit=2", key: "none", status: 400, code: protocol.CodeBadRequest, message: "limit is given 2 times"},
		"revocations cursor twice":           {method: http.MethodGet, path: protocol.PathRevocations + "?cursor=a&cursor=b", key: "none", status: 400, code: protocol.CodeBadRequest, message: "cursor is given 2 times"},
		"revocations cursor time overflow":   {method: http.MethodGet, path: protocol.PathRevocations + "?cursor=" + revocationCursor(1<<63, unknown), key: "none", status: 400, code: protocol.CodeBadRequest, message: "out of range"},
		"revocations cursor without a jti":   {method: http.MethodGet, path: protocol.PathRevocations + "?cursor=" + revocationCursor(1, ""), key: "none", status: 400, code: protocol.CodeBadRequest, message: "cursor"},
		"revocations cursor naming no badge": {method: http.MethodGet, path: protocol.PathRevocations + "?cursor=" + revocationCursor(1, strings.Repeat("x", 36)), key: "none", status: 400, code: protocol.CodeBadRequest, message: "cursor"},
		"revocations malformed query":        {method: http.MethodGet, path: protocol.PathRevocations + "?since=a;b", key: "none", status: 400, code: protocol.CodeBadRequest, message: "malformed"},
	}
	// Every authenticated route answers 401 without a key, before looking at
	// the id or the body.
	for _, route := range []struct{ method, path string }{
		{http.MethodPost, protocol.PathServers},
		{http.MethodGet, pathOf(protocol.PathServer, fx.id)},
		{http.MethodPut, pathOf(protocol.PathServer, fx.id)},
		{http.MethodDelete, pathOf(protocol.PathServer, fx.id)},
		{http.MethodPost, pathOf(protocol.PathServerDisable, fx.id)},
		{http.MethodPost, pathOf(protocol.PathServerEnable, fx.id)},
		{http.MethodPost, pathOf(protocol.PathServerBadge, fx.id)},
		{http.MethodPost, pathOf(protocol.PathBadgeRevoke, fx.jti)},
	} {
		cases["no API key "+route.method+" "+route.path] = errorCase{method: route.method, path: route.path, key: "none", status: 401, code: protocol.CodeUnauthorized}
	}
	return cases
}

// revocationCursor spells a revocations cursor the way the registry does:
// base64url of the revocation time (Unix ns, big endian) and the jti.
func revocationCursor(nanos uint64, jti string) string {
	return base64.RawURLEncoding.EncodeToString(append(binary.BigEndian.AppendUint64(nil, nanos), jti...))
}

func runErrorCase(t *testing.T, fx errorFixture, tc errorCase) {
	t.Helper()
	var req *http.Request
	var err error
	switch b := tc.body.(type) {
	case nil:
		req, err = http.NewRequest(tc.method, fx.reg.URL+tc.path, nil)
	case string:
		req, err = http.NewRequest(tc.method, fx.reg.URL+tc.path, strings.NewReader(b))
	default:
		req, err = http.NewRequest(tc.method, fx.reg.URL+tc.path, strings.NewReader(mustJSON(t, b)))
	}
	if err != nil {
		t.Fatal(err)
	}
	switch tc.key {
	case "":
		req.Header.Set(protocol.HeaderAPIKey, fx.reg.APIKey)
	case "bad":
		req.Header.Set(protocol.HeaderAPIKey, "sk_test_not-a-key")
	}
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	resp, raw := send(t, fx.reg.HTTP.Client(), req)
	checkErrorReply(t, resp, raw, tc)
}

func checkErrorReply(t *testing.T, resp *http.Response, raw []byte, tc errorCase) {
	t.Helper()
	wantStatus(t, resp, raw, tc.status)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	got := decode[protocol.ErrorBody](t, raw)
	if got.Success || got.Error != tc.code || got.Message == "" {
		t.Errorf("body = %s, want success false, error %q and a message", raw, tc.code)
	}
	if !strings.Contains(got.Message, tc.message) {
		t.Errorf("message %q does not mention %q", got.Message, tc.message)
	}
	if allow := resp.Header.Get("Allow"); !strings.Contains(allow, tc.allowHas) || (tc.status == 405 && allow == "") {
		t.Errorf("Allow = %q, want it to contain %q", allow, tc.allowHas)
	}
}

func privatePEM(t *testing.T, k testKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func ecdsaPEM(t *testing.T) string {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestErrors_ChunkedBodyTooLarge sends an oversized body without a
// Content-Length, so only http.MaxBytesReader can stop it.
func TestErrors_ChunkedBodyTooLarge(t *testing.T) {
	t.Parallel()
	reg := start(t)
	body := io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("a", protocol.MaxBodyBytes)), strings.NewReader(`"}`))
	req, err := http.NewRequest(http.MethodPost, reg.URL+protocol.PathServers, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(protocol.HeaderAPIKey, reg.APIKey)
	resp, raw := send(t, reg.HTTP.Client(), req)
	if req.ContentLength != 0 || len(req.TransferEncoding) != 0 && req.TransferEncoding[0] != "chunked" {
		t.Fatalf("the request was not chunked")
	}
	checkErrorReply(t, resp, raw, errorCase{status: 413, code: protocol.CodeBodyTooLarge})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	reg := start(t, registrytest.WithRateLimit(3), registrytest.WithNow(clock))

	for i := range 3 {
		resp, raw := reg.Do(t, http.MethodGet, protocol.PathServers, nil)
		wantStatus(t, resp, raw, http.StatusOK)
		_ = i
	}
	resp, raw := reg.Do(t, http.MethodGet, protocol.PathServers, nil)
	checkErrorReply(t, resp, raw, errorCase{status: 429, code: protocol.CodeRateLimited, message: "3 requests per minute"})
	if got := resp.Header.Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After = %q, want 20 (one token per 20 s at 3/min)", got)
	}

	// Other keys and public routes are not affected.
	resp, raw = reg.DoWithKey(t, reg.SecondOrgKey(t), http.MethodGet, protocol.PathServers, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	mustGet(t, reg, protocol.PathHealth)

	mu.Lock()
	now = now.Add(20 * time.Second)
	mu.Unlock()
	resp, raw = reg.Do(t, http.MethodGet, protocol.PathServers, nil)
	wantStatus(t, resp, raw, http.StatusOK)
}
