package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// There is no Docker engine here: these tests check the Dockerfile's build line and the compose file by other means.

func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*) -o (\S+) (\S+)$`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("no `RUN CGO_ENABLED=0 go build ... -o OUT PKG` line in the Dockerfile")
	}
	for _, want := range []string{"USER 65532:65532", "FROM gcr.io/distroless/static", "AS build", "HEALTHCHECK"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// Run the very same build line, from the repository root as the Dockerfile's WORKDIR is.
	out := filepath.Join(t.TempDir(), "aws-invites")
	line := m[1] + " -o " + out + " " + m[3]
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = "../.."
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, msg)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked; the distroless static image cannot run it")
		}
	}
	if msg, err := exec.Command(out, "--help").CombinedOutput(); err != nil || !strings.Contains(string(msg), "aws-invites") {
		t.Errorf("built binary --help: %v %s", err, msg)
	}
}

func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	app, ok := c.Services["aws-invites"]
	pg, ok2 := c.Services["postgres"]
	if !ok || !ok2 {
		t.Fatalf("services: %v", c.Services)
	}
	if app.Build == nil {
		t.Error("aws-invites is not built from the Dockerfile")
	}
	if app.DependsOn["postgres"].Condition != "service_healthy" {
		t.Error("aws-invites does not wait for a healthy postgres")
	}
	if len(app.Healthcheck.Test) == 0 || len(pg.Healthcheck.Test) == 0 {
		t.Error("a service has no health check")
	}
	if !strings.HasPrefix(pg.Image, "postgres:") {
		t.Errorf("postgres image %q", pg.Image)
	}
	db := app.Environment["DATABASE_URL"]
	if !strings.HasPrefix(db, "postgres://") || !strings.Contains(db, "@postgres:5432/") {
		t.Errorf("DATABASE_URL %q does not point at the postgres service", db)
	}
	if app.Environment["AWS_INVITES_MODE"] == "" {
		t.Error("AWS_INVITES_MODE is not set; with PostgreSQL the service refuses to start without it")
	}
	// The app's credentials match what postgres is given.
	if u, p := pg.Environment["POSTGRES_USER"], pg.Environment["POSTGRES_PASSWORD"]; !strings.Contains(db, u+":"+p+"@") {
		t.Errorf("DATABASE_URL %q does not use POSTGRES_USER/PASSWORD", db)
	}
}
