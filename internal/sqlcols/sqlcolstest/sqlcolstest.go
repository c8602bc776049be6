// Package sqlcolstest makes rows for the round-trip tests of tables declared by row types (internal/sqlcols).
package sqlcolstest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/sqlcols"
)

// Distinct fills every column of a row type with a value that no other column of it holds and that differs for
// every seed: a column missing from a write or a read, or two columns swapped, shows as a difference. fixed sets
// the columns whose values the schema or the domain constrains (ids, 12-digit accounts, a kind, a state). Times
// are UTC, whole microseconds, as both databases keep them.
func Distinct[R any](c sqlcols.Columns[R], seed int, fixed map[string]any) R {
	var r R
	at := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed) * 24 * time.Hour)
	for i, field := range c.Fields(&r) {
		name := c.Names[i]
		f := reflect.ValueOf(field).Elem()
		if val, ok := fixed[name]; ok {
			f.Set(reflect.ValueOf(val))
			continue
		}
		var val any
		switch f.Type() {
		case reflect.TypeFor[string](), reflect.TypeFor[*string]():
			s := fmt.Sprintf("%s-%d", name, seed)
			val = s
			if f.Kind() == reflect.Pointer {
				val = &s
			}
		case reflect.TypeFor[time.Time](), reflect.TypeFor[*time.Time]():
			t := at.Add(time.Duration(i)*time.Minute + time.Duration(seed)*time.Microsecond)
			val = t
			if f.Kind() == reflect.Pointer {
				val = &t
			}
		case reflect.TypeFor[int64]():
			val = int64(1000*seed + i)
		case reflect.TypeFor[bool]():
			val = seed%2 == 1
		default:
			panic(fmt.Sprintf("sqlcolstest: no distinct value for column %s of type %s", name, f.Type()))
		}
		f.Set(reflect.ValueOf(val))
	}
	return r
}

// Same fails the test unless got is want, naming the fields (of a struct of exported fields, or of a slice's
// elements) that differ. Times must be equal in their location too: the stores read them as UTC.
func Same[T any](tb testing.TB, what string, got, want T) {
	tb.Helper()
	same(tb, what, reflect.ValueOf(got), reflect.ValueOf(want))
}

func same(tb testing.TB, what string, got, want reflect.Value) {
	tb.Helper()
	switch {
	case reflect.DeepEqual(got.Interface(), want.Interface()):
	case got.Kind() == reflect.Struct && got.Type() != reflect.TypeFor[time.Time]():
		for i := range got.NumField() {
			same(tb, what+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))
		}
	case got.Kind() == reflect.Slice && got.Len() == want.Len():
		for i := range got.Len() {
			same(tb, fmt.Sprintf("%s[%d]", what, i), got.Index(i), want.Index(i))
		}
	default:
		tb.Errorf("%s = %v, want %v", what, got, want)
	}
}
