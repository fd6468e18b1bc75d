package duration

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		"seconds":        {in: "30s", want: 30 * time.Second},
		"hours":          {in: "720h", want: 720 * time.Hour},
		"combined":       {in: "1h30m", want: 90 * time.Minute},
		"days":           {in: "90d", want: 90 * 24 * time.Hour},
		"empty":          {in: "", wantErr: true},
		"spaces":         {in: "  ", wantErr: true},
		"padded":         {in: " 30s", wantErr: true},
		"no unit":        {in: "30", wantErr: true},
		"zero":           {in: "0s", wantErr: true},
		"negative":       {in: "-5m", wantErr: true},
		"zero days":      {in: "0d", wantErr: true},
		"fraction days":  {in: "1.5d", wantErr: true},
		"mixed days":     {in: "1d12h", wantErr: true},
		"huge days":      {in: "99999999d", wantErr: true},
		"word":           {in: "weekly", wantErr: true},
		"negative days":  {in: "-3d", wantErr: true},
		"just d":         {in: "d", wantErr: true},
		"unicode suffix": {in: "5µs", want: 5 * time.Microsecond},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("Parse(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"30s", "90d", "1h30m", "", "-1d", "1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err == nil && d <= 0 {
			t.Fatalf("Parse(%q) = %v without error", s, d)
		}
	})
}
