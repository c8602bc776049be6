package main

import (
	"bytes"
	"context"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/config"
)

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		var out, errOut bytes.Buffer
		// A broken configuration must not matter: --version reads none.
		getenv := func(k string) string { return map[string]string{"DATABASE_URL": "postgres://db/app"}[k] }
		if err := run(context.Background(), []string{arg}, getenv, &out, &errOut); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		// go test records no VCS data, so the test binary reports the defaults.
		if !regexp.MustCompile(`^aws-invites \S+ commit \S+( \(modified\))?\n$`).MatchString(out.String()) || errOut.Len() > 0 {
			t.Errorf("%s printed %q (stderr %q)", arg, out.String(), errOut.String())
		}
	}

	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{name: "no build info", want: "aws-invites (devel) commit unknown"},
		{name: "go run", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, ok: true, want: "aws-invites (devel) commit unknown"},
		{
			name: "release build",
			info: &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "4b1f0b018756171d2bdd7db5e7263676a39eda1c"},
				{Key: "vcs.modified", Value: "false"}}},
			ok:   true,
			want: "aws-invites v1.4.0 commit 4b1f0b018756171d2bdd7db5e7263676a39eda1c",
		},
		{
			name: "built from a modified tree",
			info: &debug.BuildInfo{Main: debug.Module{Version: "v1.4.1-0.20261201083812-4b1f0b018756+dirty"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "4b1f0b018756171d2bdd7db5e7263676a39eda1c"}, {Key: "vcs.modified", Value: "true"}}},
			ok:   true,
			want: "aws-invites v1.4.1-0.20261201083812-4b1f0b018756+dirty commit 4b1f0b018756171d2bdd7db5e7263676a39eda1c (modified)",
		},
		{name: "empty main version", info: &debug.BuildInfo{}, ok: true, want: "aws-invites (devel) commit unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.info, tt.ok); got != tt.want {
				t.Errorf("versionLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestServeHelp(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"serve", "-h"}, {"serve", "-help"}, {"help", "serve"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			// Help must answer even where serve itself would refuse to start.
			getenv := func(k string) string { return map[string]string{"DATABASE_URL": "postgres://db/app"}[k] }
			if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
				t.Fatalf("run: %v (stderr %q)", err, errOut.String())
			}
			text := out.String()
			if !strings.HasPrefix(text, "Usage: aws-invites [serve]") || errOut.Len() > 0 {
				t.Errorf("printed %.80q (stderr %q)", text, errOut.String())
			}
			for _, v := range config.Env {
				if !strings.Contains(text, "  "+v.Name+" ") {
					t.Errorf("serve's usage does not list %s", v.Name)
				}
			}
			if strings.Contains(text, "cur scan") {
				t.Error("serve's usage lists the other commands")
			}
		})
	}
	for _, args := range [][]string{{"help", "launch"}, {"help", "serve", "now"}, {"serve", "--help", "extra"}, {"serve", "--verbose"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
			if err == nil || !strings.Contains(errOut.String(), "aws-invites") {
				t.Errorf("run = %v, stderr %q; want a usage error", err, errOut.String())
			}
		})
	}
}
