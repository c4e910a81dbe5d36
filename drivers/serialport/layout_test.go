package serialport

import (
	"reflect"
	"testing"

	"github.com/creack/pty"
	"go.bug.st/serial"
)

// TestLibraryLayout guards portFD: halld does its port I/O on a duplicate of
// the descriptor go.bug.st/serial opened, read from the unexported field
// `handle int` of its *unixPort. If a new version of the library renames,
// retypes or moves it, this test fails here, loudly, and Open refuses every
// port (errLayout) rather than writing to a wrong descriptor.
func TestLibraryLayout(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	sp, err := serial.Open(slave.Name(), &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	typ := reflect.TypeOf(sp)
	if typ.Kind() != reflect.Pointer || typ.Elem().Name() != "unixPort" {
		t.Fatalf("go.bug.st/serial LAYOUT CHANGED: serial.Open returns %v, not *serial.unixPort; "+
			"fix serialport.portFD before upgrading the library", typ)
	}
	f, ok := typ.Elem().FieldByName("handle")
	if !ok || f.Type.Kind() != reflect.Int {
		t.Fatalf("go.bug.st/serial LAYOUT CHANGED: *unixPort has no `handle int` field (%+v); "+
			"fix serialport.portFD before upgrading the library", f)
	}
	fd, err := portFD(sp)
	if err != nil {
		t.Fatalf("go.bug.st/serial LAYOUT CHANGED: %v", err)
	}
	if err := sameDevice(fd, slave.Name()); err != nil {
		t.Fatalf("go.bug.st/serial LAYOUT CHANGED: handle %d is not the port it opened: %v", fd, err)
	}
	if _, err := portFD(fakePort{}); err == nil {
		t.Fatal("portFD accepted a port that is not a *unixPort")
	}
}

type fakePort struct{ serial.Port }
