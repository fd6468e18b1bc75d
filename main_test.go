package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSilenceDiscardedLogs(t *testing.T) {
	t.Parallel()
	off := map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_PROVIDER_CAPISCIO": "OFF"}
	for name, tc := range map[string]struct {
		env, want map[string]string
	}{
		"no Terraform logging: every SDK logger off": {env: map[string]string{}, want: off},
		"TF_LOG keeps everything as it was":          {env: map[string]string{"TF_LOG": "TRACE"}, want: map[string]string{"TF_LOG": "TRACE"}},
		"TF_LOG_PROVIDER keeps everything as it was": {env: map[string]string{"TF_LOG_PROVIDER": "DEBUG"}, want: map[string]string{"TF_LOG_PROVIDER": "DEBUG"}},
		"a level set for one SDK logger is kept": {
			env:  map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"},
			want: map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "TRACE", "TF_LOG_PROVIDER_CAPISCIO": "OFF"},
		},
		"TF_LOG_CORE alone keeps no provider logs": {
			env:  map[string]string{"TF_LOG_CORE": "TRACE"},
			want: map[string]string{"TF_LOG_CORE": "TRACE", "TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_PROVIDER_CAPISCIO": "OFF"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			silenceDiscardedLogs(func(k string) string { return env[k] }, func(k, v string) error { env[k] = v; return nil })
			if diff := cmp.Diff(tc.want, env); diff != "" {
				t.Errorf("environment after silenceDiscardedLogs (-want +got):\n%s", diff)
			}
		})
	}
}
