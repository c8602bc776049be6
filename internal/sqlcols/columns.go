// Package sqlcols derives a table's column lists, scan targets and write statements from the GORM tags of its row
// type, so that the row type is the one declaration of the table: the hand-written SQL of internal/store's read
// path and of the sandbox's simulators takes every list of columns from here instead of naming them again.
//
// Only GORM's tag parser (gorm.io/gorm/schema) runs; the statements are plain SQL with PostgreSQL's $n
// placeholders, which SQLite's driver binds by number too. What the tags say:
//
//   - `column:name` names the column.
//   - `<-:create` (GORM's create-only permission): written when the row is created, never by an update.
//   - `<-:false`: never written (a sequence the database numbers); `<-:update`: written by an update only.
//   - `->:false;<-`: written, never read.
//   - `default:null`: the column's zero value is stored as NULL (GORM leaves such a column to its default).
package sqlcols

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm/schema"
)

// Columns is what the row type R declares of its table's columns, derived once.
type Columns[R any] struct {
	Names     []string // the columns a read scans, in R's field order
	List      string   // Names, for a SELECT
	Updatable []string // the columns an update writes
	read      []column
	created   []column // the columns an INSERT writes
	updated   []column
}

type column struct {
	name  string
	index []int // the struct field
	// nullZero stores the field's zero value as NULL (`default:null`).
	nullZero bool
}

// Of reads R's GORM declaration. A row type GORM cannot parse is a programming error: it panics at start.
func Of[R any]() Columns[R] {
	s, err := schema.Parse(new(R), &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		panic(fmt.Sprintf("sqlcols: the row type %T: %v", *new(R), err))
	}
	var c Columns[R]
	for _, f := range s.Fields {
		if f.DBName == "" {
			continue
		}
		col := column{name: f.DBName, index: f.StructField.Index,
			nullZero: f.HasDefaultValue && strings.EqualFold(f.DefaultValue, "null")}
		if f.Readable {
			c.Names = append(c.Names, col.name)
			c.read = append(c.read, col)
		}
		if f.Creatable {
			c.created = append(c.created, col)
		}
		if f.Updatable {
			c.Updatable = append(c.Updatable, col.name)
			c.updated = append(c.updated, col)
		}
	}
	c.List = strings.Join(c.Names, ", ")
	return c
}

// Prefixed is the column list with every column qualified by a table alias.
func (c Columns[R]) Prefixed(alias string) string {
	return alias + strings.ReplaceAll(c.List, ", ", ", "+alias)
}

// Fields returns the scan targets of r's columns, in the order of List.
func (c Columns[R]) Fields(r *R) []any {
	v := reflect.ValueOf(r).Elem()
	dest := make([]any, len(c.read))
	for i, col := range c.read {
		dest[i] = v.FieldByIndex(col.index).Addr().Interface()
	}
	return dest
}

// Updates returns what an update of the row writes, by column: every column but the create-only ones.
func (c Columns[R]) Updates(r R) map[string]any {
	v := reflect.ValueOf(r)
	set := make(map[string]any, len(c.updated))
	for _, col := range c.updated {
		set[col.name] = col.value(v)
	}
	return set
}

// Select is "SELECT <List> FROM table", for a WHERE clause to follow.
func (c Columns[R]) Select(table string) string { return "SELECT " + c.List + " FROM " + table }

// Insert is "INSERT INTO table (columns) VALUES ($1, ..., $n)" of the columns a create writes; InsertArgs are its
// arguments.
func (c Columns[R]) Insert(table string) string {
	names := make([]string, len(c.created))
	for i, col := range c.created {
		names[i] = col.name
	}
	return "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ") VALUES (" + placeholders(len(names)) + ")"
}

// InsertArgs are the values of Insert's columns in r, in order.
func (c Columns[R]) InsertArgs(r R) []any { return values(r, c.created) }

// Update is "UPDATE table SET u1 = $1, ..., uk = $k WHERE key1 = $k+1 AND ...": it writes every updatable column
// of the rows whose keys hold the values that follow UpdateArgs.
func (c Columns[R]) Update(table string, keys ...string) string {
	set := make([]string, len(c.Updatable))
	for i, name := range c.Updatable {
		set[i] = name + " = $" + strconv.Itoa(i+1)
	}
	where := make([]string, len(keys))
	for i, key := range keys {
		where[i] = key + " = $" + strconv.Itoa(len(set)+i+1)
	}
	return "UPDATE " + table + " SET " + strings.Join(set, ", ") + " WHERE " + strings.Join(where, " AND ")
}

// UpdateArgs are the values of Update's columns in r, in order; the keys' values follow them.
func (c Columns[R]) UpdateArgs(r R) []any { return values(r, c.updated) }

// OnConflictUpdate is the clause of an upsert that, when a row with the same key exists, overwrites these columns
// of it with the values the INSERT brought: " ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c, ...".
func OnConflictUpdate(key string, columns ...string) string {
	set := make([]string, len(columns))
	for i, name := range columns {
		set[i] = name + " = EXCLUDED." + name
	}
	return " ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
}

func values[R any](r R, cols []column) []any {
	v := reflect.ValueOf(r)
	out := make([]any, len(cols))
	for i, col := range cols {
		out[i] = col.value(v)
	}
	return out
}

// value is the column's field of the row v, or nil for the zero value of a `default:null` column.
func (col column) value(v reflect.Value) any {
	f := v.FieldByIndex(col.index)
	if col.nullZero && isZero(f) {
		return nil
	}
	return f.Interface()
}

// isZero asks a type that says when it is zero (time.Time, whose zero instant may carry a location), and
// reflection otherwise.
func isZero(f reflect.Value) bool {
	if z, ok := f.Interface().(interface{ IsZero() bool }); ok {
		return z.IsZero()
	}
	return f.IsZero()
}

// placeholders is "$1, ..., $n".
func placeholders(n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(i+1)
	}
	return strings.Join(ps, ", ")
}
