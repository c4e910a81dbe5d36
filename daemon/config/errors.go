package config

import (
	"fmt"
	"strings"
)

// Error is one problem in a config file.
type Error struct {
	File string // the file name given to Load or Parse
	Line int    // 1-based; 0 when the problem has no place in the file (it could not be read)
	Col  int    // 1-based; 0 when unknown (YAML syntax errors carry a line only)
	Path string // field path such as devices[3].serial.baud (list indexes from 0); empty for syntax errors
	Msg  string

	// Err is the underlying error when there is one (reading the file), for errors.Is / errors.As.
	// Added to the first sketch so that a missing file can be told apart (errors.Is(err, fs.ErrNotExist)).
	Err error
}

// Error formats the problem as "file:line:col: path: message", leaving out what is unknown.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error, if any.
func (e Error) Unwrap() error { return e.Err }

// Errors is every problem found in one file, in file order. Load and Parse return it as *Errors.
type Errors []Error

// Error joins the problems, one per line.
func (e *Errors) Error() string {
	if e == nil {
		return ""
	}
	lines := make([]string, len(*e))
	for i, x := range *e {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors, so that errors.Is and errors.As see each one.
func (e *Errors) Unwrap() []error {
	if e == nil {
		return nil
	}
	out := make([]error, len(*e))
	for i, x := range *e {
		out[i] = x
	}
	return out
}
