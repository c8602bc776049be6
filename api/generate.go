// Package api holds the code generated from ../openapi.yaml by oapi-codegen: the models, the Echo strict server
// interface and the embedded spec. Never edit api.gen.go; change openapi.yaml and run `go generate ./api`.
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml

//go:generate cp ../openapi.yaml openapi.yaml
