package provider

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"

	"github.com/capiscio/terraform-provider-capiscio/internal/registry"
	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

const cryptoSHA256 = crypto.SHA256

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
func b64std(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// regDo calls the registry's real HTTP API with the dev org's key, without a
// *testing.T so that state checks can use it; errors surface as status 0.
func regDo(reg *registrytest.Registry, method, path string, body any) (*http.Response, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, reg.URL+path, rd)
	if err != nil {
		return &http.Response{}, nil
	}
	req.Header.Set(registry.HeaderAPIKey, reg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &http.Response{}, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
