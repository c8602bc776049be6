package httpapi

import "testing"

func TestBearer(t *testing.T) {
	for _, tt := range []struct {
		header, want string
		ok           bool
	}{
		{header: "Bearer abc.def.ghi", want: "abc.def.ghi", ok: true},
		{header: "bearer abc.def.ghi", want: "abc.def.ghi", ok: true},
		{header: "BEARER   abc.def.ghi  ", want: "abc.def.ghi", ok: true},
		{header: "", ok: false},
		{header: "Bearer", ok: false},
		{header: "Bearer    ", ok: false},
		{header: "Basic dXNlcjpwYXNz", ok: false},
		{header: "Bearerabc", ok: false},
		{header: "Bearer abc def", ok: false},
		{header: "abc.def.ghi", ok: false},
	} {
		if got, ok := bearer(tt.header); got != tt.want || ok != tt.ok {
			t.Errorf("bearer(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
