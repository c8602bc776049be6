package store

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"gorm.io/gorm/schema"
)

// columns is what the store knows of a table's columns, derived once from the GORM tags of its row type: the row
// type is the one declaration of the table. GORM writes rows from it; the hand-written read path takes its SELECT
// lists and scan targets from here, and an update the columns it may write. A field tagged `<-:create` (GORM's
// create-only permission) is written when the row is created and never by an update: an invite's identity, for
// instance.
type columns[R any] struct {
	names     []string // every column, in the row type's field order
	list      string   // names, for a SELECT
	index     [][]int  // each column's struct field, in that order
	updatable []string // the columns an update writes
	updIndex  [][]int  // their struct fields
}

// columnsOf reads R's GORM declaration. A row type GORM cannot parse is a programming error: it panics at start.
func columnsOf[R any]() columns[R] {
	s, err := schema.Parse(new(R), &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		panic(fmt.Sprintf("store: the row type %T: %v", *new(R), err))
	}
	var c columns[R]
	for _, f := range s.Fields {
		if f.DBName == "" || !f.Readable {
			continue
		}
		c.names = append(c.names, f.DBName)
		c.index = append(c.index, f.StructField.Index)
		if f.Updatable {
			c.updatable = append(c.updatable, f.DBName)
			c.updIndex = append(c.updIndex, f.StructField.Index)
		}
	}
	c.list = strings.Join(c.names, ", ")
	return c
}

// prefixed is the column list with every column qualified by a table alias.
func (c columns[R]) prefixed(alias string) string {
	return alias + strings.ReplaceAll(c.list, ", ", ", "+alias)
}

// fields returns the scan targets of r's columns, in the order of list.
func (c columns[R]) fields(r *R) []any {
	v := reflect.ValueOf(r).Elem()
	dest := make([]any, len(c.index))
	for i, idx := range c.index {
		dest[i] = v.FieldByIndex(idx).Addr().Interface()
	}
	return dest
}

// updates returns what an update of the row writes: every column but the create-only ones.
func (c columns[R]) updates(r R) map[string]any {
	v := reflect.ValueOf(r)
	set := make(map[string]any, len(c.updatable))
	for i, name := range c.updatable {
		set[name] = v.FieldByIndex(c.updIndex[i]).Interface()
	}
	return set
}
