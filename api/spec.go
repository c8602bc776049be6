package api

import _ "embed"

// SpecYAML is openapi.yaml exactly as written, copied here by go generate (go:embed cannot reach the parent folder).
//
//go:embed openapi.yaml
var SpecYAML []byte
