package registry

import (
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/protocol"
)

func TestNormalizeBaseURL(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in, want, errHas string
	}{
		"https":             {in: "https://registry.capisc.io", want: "https://registry.capisc.io"},
		"trailing slash":    {in: "https://registry.capisc.io/", want: "https://registry.capisc.io"},
		"path kept":         {in: "https://example.com/capiscio/", want: "https://example.com/capiscio"},
		"loopback http":     {in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		"localhost http":    {in: "http://localhost:8080/", want: "http://localhost:8080"},
		"ipv6 loopback":     {in: "http://[::1]:9000", want: "http://[::1]:9000"},
		"empty":             {in: "", errHas: "empty"},
		"spaces":            {in: " https://x.io", errHas: "spaces"},
		"relative":          {in: "registry.capisc.io", errHas: "https://"},
		"ftp":               {in: "ftp://registry.capisc.io", errHas: "https://"},
		"remote http":       {in: "http://registry.capisc.io", errHas: "loopback"},
		"private http":      {in: "http://10.0.0.1", errHas: "loopback"},
		"query":             {in: "https://x.io/?a=1", errHas: "query"},
		"empty query":       {in: "https://x.io/?", errHas: "query"},
		"fragment":          {in: "https://x.io/#frag", errHas: "fragment"},
		"user info":         {in: "https://user:pw@x.io", errHas: "user info"},
		"no host":           {in: "https://", errHas: "no host"},
		"port zero":         {in: "https://x.io:0", errHas: "port"},
		"port out of range": {in: "https://x.io:70000", errHas: "port"},
		"bad escape":        {in: "https://x.io/%zz", errHas: "parse"},
		// Canonical form: one spelling per address.
		"scheme and host case": {in: "HTTP://LocalHost:8080/", want: "http://localhost:8080"},
		"default http port":    {in: "http://127.0.0.1:80", want: "http://127.0.0.1"},
		"default https port":   {in: "https://Registry.Capisc.IO:443/", want: "https://registry.capisc.io"},
		"path case kept":       {in: "https://x.io:8443/Base/", want: "https://x.io:8443/Base"},
		"ipv6 case":            {in: "http://[::1]:80/", want: "http://[::1]"},
		// A host without a scheme says so, with the URL to write.
		"no scheme host":      {in: "registry.capisc.io", errHas: "has no scheme: write https://registry.capisc.io"},
		"no scheme with port": {in: "localhost:8080", errHas: "has no scheme: write https://localhost:8080"},
		"no scheme with path": {in: "127.0.0.1:8080/v1", errHas: "has no scheme"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeBaseURL(tc.in)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("NormalizeBaseURL(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.errHas)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeBaseURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzNormalizeBaseURL(f *testing.F) {
	for _, s := range []string{"https://registry.capisc.io/", "http://127.0.0.1:8080", "http://[::1]:1/x", "ftp://x", "https://x/?q#f", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeBaseURL(s)
		if err != nil {
			return
		}
		// An accepted URL is stable and passes again.
		again, err := NormalizeBaseURL(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeBaseURL(%q) = %q, but again gives %q, %v", s, got, again, err)
		}
		// The badge domain derived from it is one the registry accepts.
		if d := protocol.DefaultDomain(got); d != "" {
			if _, err := protocol.CanonicalDomain(d); err != nil {
				t.Fatalf("DefaultDomain(%q) = %q, which CanonicalDomain refuses: %v", got, d, err)
			}
		}
	})
}
