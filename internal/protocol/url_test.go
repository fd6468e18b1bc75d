package protocol

import "testing"

func TestSameRegistryURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		same bool
	}{
		{"http://127.0.0.1:8080", "HTTP://127.0.0.1:8080/", true},
		{"https://registry.capisc.io", "https://REGISTRY.capisc.io:443", true},
		{"http://localhost:8080", "http://127.0.0.1:8080", false}, // an alias only the registry can confirm
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/v1", false},
		{"http://127.0.0.1:8080", "not a url", false},
	}
	for _, c := range cases {
		if got := SameRegistryURL(c.a, c.b); got != c.same {
			t.Errorf("SameRegistryURL(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

func TestDefaultDomain(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"https://registry.capisc.io":     "registry.capisc.io",
		"https://registry.capisc.io:443": "registry.capisc.io",
		"http://localhost:8080":          "localhost:8080",
		"http://127.0.0.1:80/":           "127.0.0.1",
		"https://x.io:8443/base":         "x.io:8443",
		"http://[::1]:9000":              "[::1]:9000",
	}
	for in, want := range cases {
		if got := DefaultDomain(in); got != want {
			t.Errorf("DefaultDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
