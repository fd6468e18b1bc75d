package protocol

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDecodeServer(t *testing.T) {
	t.Parallel()
	with := func(base map[string]any, set map[string]any, del ...string) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range set {
			out[k] = v
		}
		for _, k := range del {
			delete(out, k)
		}
		return out
	}
	want := wantServer()
	wantLevel := func(level string) *Server {
		s := wantServer()
		s.TrustLevel = level
		return s
	}
	tests := map[string]struct {
		body    string
		want    *Server
		wantErr error
	}{
		"camelCase envelope":             {body: mustJSON(t, envelope(serverCamel())), want: want},
		"snake_case envelope":            {body: mustJSON(t, envelope(serverSnake())), want: want},
		"bare camelCase object":          {body: mustJSON(t, serverCamel()), want: want},
		"bare snake_case object":         {body: mustJSON(t, serverSnake()), want: want},
		"trust level as number":          {body: mustJSON(t, envelope(with(serverCamel(), map[string]any{"trustLevel": 2}))), want: wantLevel("2")},
		"trust level as float":           {body: `{"data":` + strings.Replace(mustJSON(t, serverCamel()), `"trustLevel":"1"`, `"trustLevel":3.0`, 1) + `}`, want: wantLevel("3")},
		"snake trust level as string":    {body: mustJSON(t, envelope(with(serverSnake(), map[string]any{"trust_level": "4"}))), want: wantLevel("4")},
		"camel wins over snake":          {body: mustJSON(t, envelope(with(serverCamel(), map[string]any{"trust_level": "9"}))), want: want},
		"null snake falls to camel":      {body: mustJSON(t, envelope(with(serverSnake(), map[string]any{"trustLevel": nil}))), want: want},
		"timestamps as numeric strings":  {body: mustJSON(t, envelope(with(serverSnake(), map[string]any{"created_at": "1767323045"}))), want: want},
		"timestamps in milliseconds":     {body: mustJSON(t, envelope(with(serverSnake(), map[string]any{"created_at": testCreated.UnixMilli()}))), want: want},
		"RFC 3339 with offset":           {body: mustJSON(t, envelope(with(serverCamel(), map[string]any{"createdAt": "2026-01-02T04:04:05+01:00"}))), want: want},
		"missing optional fields":        {body: `{"success":true,"data":{"id":"a","did":"did:web:h:servers:a"}}`, want: &Server{ID: "a", DID: "did:web:h:servers:a"}},
		"numeric id":                     {body: `{"data":{"id":42,"did":"did:web:h:servers:42"}}`, want: &Server{ID: "42", DID: "did:web:h:servers:42"}},
		"missing data.did":               {body: mustJSON(t, envelope(with(serverCamel(), nil, "did"))), wantErr: ErrInvalidReply},
		"empty data.did":                 {body: mustJSON(t, envelope(with(serverCamel(), map[string]any{"did": ""}))), wantErr: ErrInvalidReply},
		"did is not a DID":               {body: mustJSON(t, envelope(with(serverCamel(), map[string]any{"did": "srv-1"}))), wantErr: ErrInvalidReply},
		"did only as didKey is no did":   {body: mustJSON(t, envelope(with(serverCamel(), nil, "did"))), wantErr: ErrInvalidReply},
		"missing id":                     {body: mustJSON(t, envelope(with(serverCamel(), nil, "id"))), wantErr: ErrInvalidReply},
		"did of wrong type":              {body: mustJSON(t, envelope(with(serverCamel(), map[string]any{"did": 7}))), wantErr: ErrInvalidReply},
		"bad timestamp":                  {body: mustJSON(t, envelope(with(serverCamel(), map[string]any{"createdAt": "yesterday"}))), wantErr: ErrInvalidReply},
		"negative timestamp":             {body: mustJSON(t, envelope(with(serverSnake(), map[string]any{"created_at": -1}))), wantErr: ErrInvalidReply},
		"trust level of wrong type":      {body: mustJSON(t, envelope(with(serverCamel(), map[string]any{"trustLevel": []int{1}}))), wantErr: ErrInvalidReply},
		"data is an array":               {body: `{"success":true,"data":[]}`, wantErr: ErrInvalidReply},
		"no data and no server fields":   {body: `{"success":true}`, wantErr: ErrInvalidReply},
		"success false with 2xx":         {body: `{"success":false,"error":"x","message":"boom"}`, wantErr: ErrInvalidReply},
		"JSON array":                     {body: `[]`, wantErr: ErrInvalidReply},
		"empty body":                     {body: ``, wantErr: ErrInvalidReply},
		"truncated JSON":                 {body: `{"data":{"id":"a"`, wantErr: ErrInvalidReply},
		"null":                           {body: `null`, wantErr: ErrInvalidReply},
		"unknown fields are ignored too": {body: `{"success":true,"meta":{"a":[1,2]},"data":{"id":"a","did":"did:web:x","agentCard":{}}}`, want: &Server{ID: "a", DID: "did:web:x"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeServer([]byte(tc.body))
			if diff := cmp.Diff(tc.wantErr, err, cmpopts.EquateErrors()); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			// Times compare by instant: an offset form is the same time.
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("server mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeServer_MissingDIDErrorNamesIt(t *testing.T) {
	t.Parallel()
	_, err := decodeServer([]byte(`{"success":true,"data":{"id":"abc","didKey":"did:key:z6Mk"}}`))
	if err == nil || !strings.Contains(err.Error(), "data.did") || !strings.Contains(err.Error(), `"abc"`) {
		t.Fatalf("error = %v, want one naming data.did and the id", err)
	}
}

func TestDecodeServerList(t *testing.T) {
	t.Parallel()
	one := *wantServer()
	tests := map[string]struct {
		body       string
		want       []Server
		wantCursor string
		wantErr    error
	}{
		"envelope array":           {body: mustJSON(t, map[string]any{"success": true, "data": []any{serverCamel()}, "nextCursor": "c2"}), want: []Server{one}, wantCursor: "c2"},
		"snake cursor":             {body: mustJSON(t, map[string]any{"data": []any{serverSnake()}, "next_cursor": "c3"}), want: []Server{one}, wantCursor: "c3"},
		"data.servers":             {body: mustJSON(t, envelope(map[string]any{"servers": []any{serverCamel()}, "nextCursor": "c4"})), want: []Server{one}, wantCursor: "c4"},
		"data.items":               {body: mustJSON(t, envelope(map[string]any{"items": []any{serverSnake()}})), want: []Server{one}},
		"top-level servers":        {body: mustJSON(t, map[string]any{"servers": []any{serverCamel()}}), want: []Server{one}},
		"bare array":               {body: mustJSON(t, []any{serverCamel(), serverSnake()}), want: []Server{one, one}},
		"null data is empty":       {body: `{"success":true,"data":null}`, want: []Server{}},
		"empty array":              {body: `{"success":true,"data":[]}`, want: []Server{}},
		"no data is empty":         {body: `{"success":true}`, want: []Server{}},
		"entry without did":        {body: `{"data":[{"id":"a"}]}`, wantErr: ErrInvalidReply},
		"entry not an object":      {body: `{"data":["a"]}`, wantErr: ErrInvalidReply},
		"data object without list": {body: `{"data":{"count":0}}`, wantErr: ErrInvalidReply},
		"data a string":            {body: `{"data":"x"}`, wantErr: ErrInvalidReply},
		"cursor of wrong type":     {body: `{"data":[],"nextCursor":5}`, wantErr: ErrInvalidReply},
		"not JSON":                 {body: `<html>`, wantErr: ErrInvalidReply},
		"broken array":             {body: `[{"id":`, wantErr: ErrInvalidReply},
		"success false":            {body: `{"success":false,"message":"x"}`, wantErr: ErrInvalidReply},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, cursor, err := decodeServerList([]byte(tc.body))
			if diff := cmp.Diff(tc.wantErr, err, cmpopts.EquateErrors()); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("servers mismatch (-want +got):\n%s", diff)
			}
			if cursor != tc.wantCursor {
				t.Errorf("cursor = %q, want %q", cursor, tc.wantCursor)
			}
		})
	}
}

func TestDecodeBadge(t *testing.T) {
	t.Parallel()
	jws := testJWS(t, testBadgeClaims())
	other := testJWS(t, map[string]any{"jti": "other", "exp": 1})
	noClaims := testJWS(t, map[string]any{})
	fromClaims := &Badge{Badge: jws, Token: jws, JTI: testJTI, Subject: testDIDWeb, TrustLevel: "1", ExpiresAt: testExpires}
	full := func(b *Badge) *Badge { return b }
	tests := map[string]struct {
		body    string
		want    *Badge
		wantErr error
	}{
		"data.badge with all fields": {
			body: mustJSON(t, envelope(map[string]any{"badge": jws, "token": jws, "jti": "j-data", "subject": "did:web:s", "trustLevel": "2", "expiresAt": "2026-05-06T07:08:09Z"})),
			want: full(&Badge{Badge: jws, Token: jws, JTI: "j-data", Subject: "did:web:s", TrustLevel: "2", ExpiresAt: testExpires}),
		},
		"data.badge only, facts from claims": {body: mustJSON(t, envelope(map[string]any{"badge": jws})), want: fromClaims},
		"data.token only":                    {body: mustJSON(t, envelope(map[string]any{"token": jws})), want: fromClaims},
		"top-level badge":                    {body: mustJSON(t, map[string]any{"badge": jws}), want: fromClaims},
		"top-level token":                    {body: mustJSON(t, map[string]any{"token": jws}), want: fromClaims},
		"data.badge wins over data.token":    {body: mustJSON(t, envelope(map[string]any{"badge": jws, "token": other})), want: fromClaims},
		"data.token wins over top badge":     {body: mustJSON(t, map[string]any{"badge": other, "data": map[string]any{"token": jws}}), want: fromClaims},
		"empty data.badge falls through":     {body: mustJSON(t, envelope(map[string]any{"badge": "", "token": jws})), want: fromClaims},
		"RFC-002 snake fields at top level": {
			body: mustJSON(t, map[string]any{"badge": noClaims, "jti": "j-top", "expires_at": testExpires.Unix(), "trust_level": 3}),
			want: &Badge{Badge: noClaims, Token: noClaims, JTI: "j-top", TrustLevel: "3", ExpiresAt: testExpires},
		},
		"numeric level in claims": {
			body: mustJSON(t, envelope(map[string]any{"badge": testJWS(t, map[string]any{"jti": "j", "exp": testExpires.Unix(), "vc": map[string]any{"credentialSubject": map[string]any{"level": 2}}})})),
			want: func() *Badge {
				b := testJWS(t, map[string]any{"jti": "j", "exp": testExpires.Unix(), "vc": map[string]any{"credentialSubject": map[string]any{"level": 2}}})
				return &Badge{Badge: b, Token: b, JTI: "j", TrustLevel: "2", ExpiresAt: testExpires}
			}(),
		},
		"padded base64url segments": {
			body: mustJSON(t, envelope(map[string]any{"badge": strings.Replace(jws, ".", "==.", 2)})),
			want: &Badge{Badge: strings.Replace(jws, ".", "==.", 2), Token: strings.Replace(jws, ".", "==.", 2), JTI: testJTI, Subject: testDIDWeb, TrustLevel: "1", ExpiresAt: testExpires},
		},
		"no badge anywhere":       {body: `{"success":true,"data":{"jti":"x"}}`, wantErr: ErrInvalidReply},
		"badge not a JWS":         {body: mustJSON(t, envelope(map[string]any{"badge": "opaque-token"})), wantErr: ErrInvalidReply},
		"payload not base64":      {body: mustJSON(t, envelope(map[string]any{"badge": "a.!!!.c"})), wantErr: ErrInvalidReply},
		"payload not JSON object": {body: mustJSON(t, envelope(map[string]any{"badge": "a.WzFd.c"})), wantErr: ErrInvalidReply},
		"no jti anywhere":         {body: mustJSON(t, envelope(map[string]any{"badge": noClaims, "expiresAt": "2026-05-06T07:08:09Z"})), wantErr: ErrInvalidReply},
		"no expiry anywhere":      {body: mustJSON(t, envelope(map[string]any{"badge": noClaims, "jti": "j"})), wantErr: ErrInvalidReply},
		"badge of wrong type":     {body: `{"data":{"badge":{"x":1}}}`, wantErr: ErrInvalidReply},
		"bad expiresAt":           {body: mustJSON(t, envelope(map[string]any{"badge": jws, "expiresAt": "soon"})), wantErr: ErrInvalidReply},
		"not JSON":                {body: jws, wantErr: ErrInvalidReply},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeBadge([]byte(tc.body))
			if diff := cmp.Diff(tc.wantErr, err, cmpopts.EquateErrors()); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("badge mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeBadge_ErrorsNeverQuoteTheBadge(t *testing.T) {
	t.Parallel()
	secret := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.SECRET-SIGNATURE"
	for _, body := range []string{
		mustJSON(t, envelope(map[string]any{"badge": secret})),                   // no jti/exp
		mustJSON(t, envelope(map[string]any{"badge": "SECRET-NOT-A-JWS"})),       // not a JWS
		mustJSON(t, envelope(map[string]any{"badge": secret, "expiresAt": "x"})), // bad expiry
		mustJSON(t, envelope(map[string]any{"badge": "a.SECRET%%%.SECRET-SIG"})), // bad base64
	} {
		_, err := decodeBadge([]byte(body))
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error %v must exist and not quote the badge", err)
		}
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body     string
		wantCode string
		wantMsg  string
	}{
		"ErrorBody shape":            {body: `{"success":false,"error":"not_found","message":"server not found"}`, wantCode: "not_found", wantMsg: "server not found"},
		"error text only":            {body: `{"error":"Invalid API key"}`, wantMsg: "Invalid API key"},
		"error code only":            {body: `{"error":"rate_limit_exceeded"}`, wantCode: "rate_limit_exceeded"},
		"message only":               {body: `{"message":"Invalid request"}`, wantMsg: "Invalid request"},
		"nested error object":        {body: `{"error":{"code":"conflict","message":"exists"}}`, wantCode: "conflict", wantMsg: "exists"},
		"error text and message":     {body: `{"error":"Bad thing happened","message":"details"}`, wantMsg: "details"},
		"numeric code":               {body: `{"code":409,"message":"dup"}`, wantCode: "409", wantMsg: "dup"},
		"control chars in message":   {body: `{"error":"bad_request","message":"line1\nline2\u001b[2J\u0000end"}`, wantCode: "bad_request", wantMsg: "line1 line2 [2J end"},
		"plain text":                 {body: "upstream connect error\r\n", wantMsg: "upstream connect error"},
		"HTML":                       {body: "<html><body>502 Bad Gateway</body></html>", wantMsg: "<html><body>502 Bad Gateway</body></html>"},
		"empty":                      {body: ""},
		"empty JSON object":          {body: "{}", wantMsg: "{}"},
		"JSON without known members": {body: `{"detail_x":1}`, wantMsg: `{"detail_x":1}`},
		"long text cut at 200 bytes": {body: strings.Repeat("a", 300), wantMsg: strings.Repeat("a", 200)},
		"cut inside a rune":          {body: strings.Repeat("a", 199) + "é" + "zzz", wantMsg: strings.Repeat("a", 199)},
		"invalid UTF-8":              {body: "bad \xff\xfe bytes", wantMsg: "bad \uFFFD bytes"},
		"long JSON message capped":   {body: `{"message":"` + strings.Repeat("m", 5000) + `"}`, wantMsg: strings.Repeat("m", MaxErrorMessageBytes)},
		"JSON array":                 {body: `["x"]`, wantMsg: `["x"]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, msg := DecodeError([]byte(tc.body), noRedact)
			if diff := cmp.Diff([2]string{tc.wantCode, tc.wantMsg}, [2]string{code, msg}); diff != "" {
				t.Errorf("code/message mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeBadgeStatus(t *testing.T) {
	t.Parallel()
	revoked := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		body    string
		want    *BadgeStatus
		wantErr error
	}{
		"CORE fields": {body: `{"jti":"j","sub":"did:web:x","revoked":true,"reason":"key_rotated","revokedAt":"2026-04-01T00:00:00Z"}`,
			want: &BadgeStatus{JTI: "j", Sub: "did:web:x", Revoked: true, Reason: "key_rotated", RevokedAt: &revoked}},
		"RFC-002 snake": {body: `{"jti":"j","revoked":false,"expires_at":1778051289}`,
			want: &BadgeStatus{JTI: "j", ExpiresAt: &testExpires}},
		"wrapped tolerated": {body: `{"success":true,"data":{"jti":"j","revoked":"true"}}`, want: &BadgeStatus{JTI: "j", Revoked: true}},
		"no revoked field":  {body: `{"jti":"j"}`, wantErr: ErrInvalidReply},
		"revoked not bool":  {body: `{"jti":"j","revoked":"maybe"}`, wantErr: ErrInvalidReply},
		"not JSON":          {body: `ok`, wantErr: ErrInvalidReply},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeBadgeStatus([]byte(tc.body))
			if diff := cmp.Diff(tc.wantErr, err, cmpopts.EquateErrors()); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("status mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeJWKSAndDIDDocument(t *testing.T) {
	t.Parallel()
	t.Run("bare JWK", func(t *testing.T) {
		t.Parallel()
		// x is the key of testPEM.
		got, err := DecodeKeySet([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k"}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Keys) != 1 || got.Keys[0].KeyID != "k" || !got.Keys[0].IsPublic() {
			t.Errorf("key set = %+v, want the one public key k", got.Keys)
		}
	})
	for name, body := range map[string]string{"no keys": `{"x":1}`, "keys not array": `{"keys":{}}`, "not JSON": `-`} {
		t.Run("JWKS "+name, func(t *testing.T) {
			t.Parallel()
			if _, err := DecodeKeySet([]byte(body)); !errors.Is(err, ErrInvalidReply) {
				t.Errorf("error = %v, want ErrInvalidReply", err)
			}
		})
	}
	t.Run("DID document with string context", func(t *testing.T) {
		t.Parallel()
		got, err := decodeDIDDocument([]byte(`{"@context":"https://www.w3.org/ns/did/v1","id":"did:web:x","authentication":[{"id":"did:web:x#k","type":"Ed25519VerificationKey2020"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		want := &DIDDocument{Context: []string{"https://www.w3.org/ns/did/v1"}, ID: "did:web:x", Authentication: []string{"did:web:x#k"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
	for name, body := range map[string]string{"no id": `{"@context":[]}`, "bad methods": `{"id":"did:web:x","verificationMethod":"x"}`, "bad auth": `{"id":"did:web:x","authentication":[1]}`} {
		t.Run("DID document "+name, func(t *testing.T) {
			t.Parallel()
			if _, err := decodeDIDDocument([]byte(body)); !errors.Is(err, ErrInvalidReply) {
				t.Errorf("error = %v, want ErrInvalidReply", err)
			}
		})
	}
}

// ---- fuzz ----

func FuzzDecodeServer(f *testing.F) {
	f.Add([]byte(mustJSON(f, envelope(serverCamel()))))
	f.Add([]byte(mustJSON(f, envelope(serverSnake()))))
	f.Add([]byte(mustJSON(f, map[string]any{"data": []any{serverCamel()}, "nextCursor": "c"})))
	f.Add([]byte(`{"data":{"id":1e400,"did":"did:","created_at":1e300,"trustLevel":-0.5}}`))
	f.Add([]byte(`{"data":{"id":"x","did":"did:x","createdAt":"99999999999999999999"}}`))
	f.Add([]byte(`[{"id":"a","did":"did:a","updated_at":"1.5e11"}]`))
	f.Add([]byte(`{"success":false}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if s, err := decodeServer(body); err == nil {
			if s.ID == "" || !strings.HasPrefix(s.DID, "did:") {
				t.Fatalf("decoded a server without id or did: %+v", s)
			}
		} else if !errors.Is(err, ErrInvalidReply) {
			t.Fatalf("error %v is not ErrInvalidReply", err)
		}
		if servers, _, err := decodeServerList(body); err == nil {
			for _, s := range servers {
				if s.ID == "" || !strings.HasPrefix(s.DID, "did:") {
					t.Fatalf("listed a server without id or did: %+v", s)
				}
			}
		} else if !errors.Is(err, ErrInvalidReply) {
			t.Fatalf("error %v is not ErrInvalidReply", err)
		}
		_, _ = decodeBadgeStatus(body)
		_, _ = DecodeKeySet(body)
		_, _ = decodeDIDDocument(body)
	})
}

func FuzzDecodeBadge(f *testing.F) {
	jws := testJWS(f, testBadgeClaims())
	f.Add([]byte(mustJSON(f, envelope(map[string]any{"badge": jws, "jti": "j", "expiresAt": "2026-05-06T07:08:09Z"}))))
	f.Add([]byte(mustJSON(f, envelope(map[string]any{"token": jws}))))
	f.Add([]byte(mustJSON(f, map[string]any{"badge": jws, "expires_at": 1778051289})))
	f.Add([]byte(`{"token":"a.eyJleHAiOjFlMzA4fQ.c"}`))
	f.Add([]byte(`{"data":{"badge":"..."}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := decodeBadge(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidReply) {
				t.Fatalf("error %v is not ErrInvalidReply", err)
			}
			return
		}
		if b.Badge == "" || b.Badge != b.Token || b.JTI == "" || b.ExpiresAt.IsZero() {
			t.Fatalf("decoded an incomplete badge: %+v", b)
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(401, []byte(`{"success":false,"error":"unauthorized","message":"bad key"}`))
	f.Add(400, []byte(`{"error":"Invalid request"}`))
	f.Add(502, []byte("<html>\x1b[31m\xff</html>"))
	f.Add(404, []byte(`{"error":{"code":1,"message":null}}`))
	f.Add(429, []byte{})
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		code, msg := DecodeError(body, noRedact)
		for _, s := range []string{code, msg} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %q", s)
			}
			if strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Fatalf("control character in %q", s)
			}
			if len(s) > MaxErrorMessageBytes+3 {
				t.Fatalf("%d bytes, over the cap", len(s))
			}
		}
	})
}

// noRedact leaves text as it is, for decoding tests that are not about redaction.
func noRedact(s string) string { return s }
