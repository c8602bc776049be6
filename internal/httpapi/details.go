package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// The validator's own messages name Go types ("cannot convert json.Number to float64") and its internals; a client
// gets these instead, written from the schema the value failed: what the field must be, and what it was.

// schemaProblem says what is wrong with a value that failed its schema, as a predicate for the field's name
// ("must be a string, not a number").
func schemaProblem(se *openapi3.SchemaError) string {
	s := se.Schema
	if s == nil {
		return "is not valid"
	}
	switch se.SchemaField {
	case "required":
		return "is required"
	case "type", "nullable":
		if _, isNumber := se.Value.(json.Number); isNumber && (s.Type.Permits(openapi3.TypeNumber) || s.Type.Permits(openapi3.TypeInteger)) {
			return "is a number too large to be read"
		}
		if se.SchemaField == "type" && s.Type.Is(openapi3.TypeInteger) {
			if _, isNumber := se.Value.(float64); isNumber {
				return "must be a whole number"
			}
		}
		return fmt.Sprintf("must be %s, not %s", typeName(s), kindOf(se.Value))
	case "enum":
		return "must be " + oneOf(s.Enum)
	case "minLength", "maxLength":
		return "must be " + lengths(s)
	case "pattern":
		return "must match the pattern " + s.Pattern
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
		return "must be " + describe(s)
	case "format":
		return "must be " + formatName(s.Format)
	case "minItems", "maxItems":
		return "must have " + itemCounts(s)
	case "uniqueItems":
		return "must not repeat an item"
	}
	return "must be " + describe(s)
}

// describe says what values a schema accepts, from its type and limits.
func describe(s *openapi3.Schema) string {
	switch {
	case len(s.Enum) > 0:
		return oneOf(s.Enum)
	case s.Type.Is(openapi3.TypeString):
		if s.Format != "" {
			return formatName(s.Format)
		}
		if s.MinLength > 0 || s.MaxLength != nil {
			return "a string of " + lengths(s)
		}
		return "a string"
	case s.Type.Is(openapi3.TypeInteger) || s.Type.Is(openapi3.TypeNumber):
		what := typeName(s)
		switch {
		case s.Min != nil && s.Max != nil:
			return fmt.Sprintf("%s from %v to %v", what, *s.Min, *s.Max)
		case s.Min != nil:
			return fmt.Sprintf("%s of at least %v", what, *s.Min)
		case s.Max != nil:
			return fmt.Sprintf("%s of at most %v", what, *s.Max)
		}
		return what
	case s.Type.Is(openapi3.TypeArray):
		if s.Items != nil && s.Items.Value != nil {
			return "a list of " + describe(s.Items.Value)
		}
	}
	return typeName(s)
}

func typeName(s *openapi3.Schema) string {
	switch {
	case s.Type.Is(openapi3.TypeString):
		return "a string"
	case s.Type.Is(openapi3.TypeInteger):
		return "an integer"
	case s.Type.Is(openapi3.TypeNumber):
		return "a number"
	case s.Type.Is(openapi3.TypeBoolean):
		return "true or false"
	case s.Type.Is(openapi3.TypeArray):
		return "a list"
	case s.Type.Is(openapi3.TypeObject):
		return "an object"
	}
	return "a valid value"
}

// kindOf names the JSON type of a decoded value.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "true or false"
	case json.Number, float64, int, int64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "something else"
}

func oneOf(values []any) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprint(v)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "one of " + strings.Join(parts, ", ")
}

func lengths(s *openapi3.Schema) string {
	switch {
	case s.MaxLength != nil && s.MinLength > 0:
		return fmt.Sprintf("%d to %d characters", s.MinLength, *s.MaxLength)
	case s.MaxLength != nil:
		return fmt.Sprintf("at most %d characters", *s.MaxLength)
	case s.MinLength == 1:
		return "at least 1 character"
	}
	return fmt.Sprintf("at least %d characters", s.MinLength)
}

func itemCounts(s *openapi3.Schema) string {
	switch {
	case s.MaxItems != nil && s.MinItems > 0:
		return fmt.Sprintf("%d to %d items", s.MinItems, *s.MaxItems)
	case s.MaxItems != nil:
		return fmt.Sprintf("at most %d items", *s.MaxItems)
	}
	return fmt.Sprintf("at least %d items", s.MinItems)
}

func formatName(f string) string {
	switch f {
	case "date-time":
		return "an RFC 3339 date and time such as 2025-01-31T09:00:00Z"
	case "date":
		return "a date such as 2025-01-31"
	case "email":
		return "an email address"
	case "uri":
		return "a URL"
	case "uuid":
		return "a UUID"
	}
	return "in the format " + f
}

// parameterProblem says what is wrong with a parameter the validator refused.
func parameterProblem(re *openapi3filter.RequestError) string {
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return schemaProblem(se)
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return "is required"
	}
	if p := re.Parameter; p.Schema != nil && p.Schema.Value != nil {
		return "must be " + describe(p.Schema.Value)
	}
	return "is not valid"
}
