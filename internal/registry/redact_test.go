package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

// echoKey is the API key the echoing upstream repeats back.
const echoKey = "sk_test_Zx9Qm2Lk8Vb4Nc7Rt1Yp6Ws3Hd5Jf0Ga2Ue8Io4Kl"

// leaks reports the first 8-character window of the key found in s.
func leaks(s, key string) (string, bool) {
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(s, key[i:i+8]) {
			return key[i : i+8], true
		}
	}
	return "", false
}

// TestRedaction_EchoedKey: an upstream that echoes the request's
// X-Capiscio-Registry-Key into its reply, at every offset of the text the
// client quotes and beyond its display limit, for every status and reply
// shape, never gets a window of 8 characters of the key into the client's
// error. Redaction runs before any cut.
func TestRedaction_EchoedKey(t *testing.T) {
	t.Parallel()
	shapes := map[string]func(pad string) (int, string, string){
		"json message 400": func(p string) (int, string, string) {
			return 400, "application/json", `{"error":"bad_request","message":"` + p + `"}`
		},
		"json message 401": func(p string) (int, string, string) {
			return 401, "application/json", `{"error":"unauthorized","message":"` + p + `"}`
		},
		"json message 404": func(p string) (int, string, string) {
			return 404, "application/json", `{"error":"not_found","message":"` + p + `"}`
		},
		"json message 409": func(p string) (int, string, string) {
			return 409, "application/json", `{"error":"conflict","message":"` + p + `"}`
		},
		"json message 500": func(p string) (int, string, string) {
			return 500, "application/json", `{"error":"internal_error","message":"` + p + `"}`
		},
		"json error text 502": func(p string) (int, string, string) { return 502, "application/json", `{"error":"` + p + `"}` },
		"nested error 503": func(p string) (int, string, string) {
			return 503, "application/json", `{"error":{"code":"x","message":"` + p + `"}}`
		},
		"plain text 500": func(p string) (int, string, string) { return 500, "text/plain", p },
		"html 504":       func(p string) (int, string, string) { return 504, "text/html", "<html><body>" + p + "</body></html>" },
		"200 success false": func(p string) (int, string, string) {
			return 200, "application/json", `{"success":false,"message":"` + p + `"}`
		},
		"201 success false error": func(p string) (int, string, string) {
			return 201, "application/json", `{"success":false,"error":"` + p + `"}`
		},
		"200 server with key as did": func(p string) (int, string, string) {
			return 200, "application/json", `{"success":true,"data":{"id":"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f","did":"did:web:x:servers:` + p + `"}}`
		},
		"json key escaped": func(p string) (int, string, string) {
			return 400, "application/json", `{"error":"bad_request","message":"` + escapeAll(p) + `"}`
		},
	}
	var offsets []int
	for o := 0; o <= 1100; o += 3 {
		offsets = append(offsets, o)
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			offset := 0
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				key := r.Header.Get(protocol.HeaderAPIKey)
				status, ctype, body := shape(strings.Repeat("a", offset) + key + " trailing")
				w.Header().Set("Content-Type", ctype)
				w.WriteHeader(status)
				fmt.Fprint(w, body)
			}))
			defer ts.Close()
			c, err := New(Config{BaseURL: ts.URL, APIKey: echoKey, MaxRetries: 0})
			if err != nil {
				t.Fatal(err)
			}
			for _, offset = range offsets {
				_, err := c.RegisterKey(context.Background(), "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", protocol.RegisterKeyRequest{DID: "did:key:z", PublicKey: "x"})
				if err == nil {
					t.Fatalf("offset %d: no error", offset)
				}
				if w, ok := leaks(err.Error(), echoKey); ok {
					t.Fatalf("offset %d: the error shows %q of the API key: %v", offset, w, err)
				}
			}
		})
	}
}

// escapeAll writes every character of s as a JSON \u escape, which hides it
// from a byte search of the raw body.
func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// TestRedaction_PEMAndJWS: keys and badges quoted in error texts are hidden.
func TestRedaction_PEMAndJWS(t *testing.T) {
	t.Parallel()
	c := &Client{apiKey: echoKey}
	pemText := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----"
	jws := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJkaWQ6d2ViOngifQ.c2lnbmF0dXJlLWJ5dGVz"
	for _, in := range []string{
		"failed for " + pemText + " here",
		"bad badge " + jws + ".",
		"cut PEM -----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS",
		"unsigned " + jws[:strings.LastIndex(jws, ".")],
	} {
		out := c.redact(in)
		for _, secret := range []string{"MC4CAQAwBQYDK2Vw", "eyJzdWIiOiJkaWQ6d2ViOngifQ", "11qYAYKxCrfVS", "c2lnbmF0dXJlLWJ5dGVz"} {
			if strings.Contains(out, secret) {
				t.Errorf("redact(%q) = %q still holds %q", in, out, secret)
			}
		}
	}
}
