package hall

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// fillValue gives v, and everything it holds, a value other than zero: a map
// or slice of one element, a pointer to a filled value, "x", 1, true. depth
// bounds a type that holds itself.
func fillValue(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.String:
		v.SetString("x")
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillValue(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fillValue(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fillValue(v.Index(i), depth+1)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fillValue(k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		fillValue(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillValue(v.Field(i), depth+1)
			}
		}
	}
}

// sharedPaths walks a and its clone b side by side and reports every map,
// slice or pointer they share, as a path into State ("[]" for an element,
// "." before a field; embedded structs are transparent). A shared thing is
// not descended into: what is under it is shared with it.
func sharedPaths(a, b reflect.Value, path string, out map[string]bool) {
	shared := func(p, q uintptr) bool {
		if p != q || p == 0 {
			return false
		}
		out[path] = true
		return true
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() || shared(a.Pointer(), b.Pointer()) {
			return
		}
		sharedPaths(a.Elem(), b.Elem(), path, out)
	case reflect.Interface:
		if !a.IsNil() && !b.IsNil() {
			sharedPaths(a.Elem(), b.Elem(), path, out)
		}
	case reflect.Map:
		if a.IsNil() || b.IsNil() || shared(a.Pointer(), b.Pointer()) {
			return
		}
		for _, k := range a.MapKeys() {
			if e := b.MapIndex(k); e.IsValid() {
				sharedPaths(a.MapIndex(k), e, path+"[]", out)
			}
		}
	case reflect.Slice:
		if a.Len() == 0 || b.Len() == 0 || shared(a.Pointer(), b.Pointer()) {
			return
		}
		for i := 0; i < min(a.Len(), b.Len()); i++ {
			sharedPaths(a.Index(i), b.Index(i), path+"[]", out)
		}
	case reflect.Array:
		for i := 0; i < a.Len(); i++ {
			sharedPaths(a.Index(i), b.Index(i), path+"[]", out)
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			f := a.Type().Field(i)
			p := path
			if !f.Anonymous {
				if p != "" {
					p += "."
				}
				p += f.Name
			}
			sharedPaths(a.Field(i), b.Field(i), p, out)
		}
	}
}

// A field added to State (or to a record Clone copies) without Clone
// handling it fails here: left out, the copy loses it; shared without being
// listed in cloneShares, a failed batch would write into the committed state.
func TestCloneCopiesEveryField(t *testing.T) {
	st := &State{}
	fillValue(reflect.ValueOf(st).Elem(), 0)
	c := st.Clone()

	sv, cv := reflect.ValueOf(st).Elem(), reflect.ValueOf(c).Elem()
	for i := 0; i < sv.NumField(); i++ {
		f := sv.Type().Field(i)
		if sv.Field(i).IsZero() {
			t.Fatalf("State.%s was not filled: the test proves nothing for it", f.Name)
		}
		if !reflect.DeepEqual(sv.Field(i).Interface(), cv.Field(i).Interface()) {
			t.Errorf("Clone does not copy State.%s (%s): name it in Clone", f.Name, f.Type)
		}
	}

	got := map[string]bool{}
	sharedPaths(sv, cv, "", got)
	for p := range got {
		if !slices.Contains(cloneShares, p) {
			t.Errorf("Clone shares %s with the original: copy it in Clone, or, if Apply never writes into it in place, list it in cloneShares", p)
		}
	}
	for _, p := range cloneShares {
		if !got[p] {
			t.Errorf("cloneShares lists %s, but Clone copies it (or State has no such path): take it off the list", p)
		}
	}
}

// The walk itself must see a share: a clone that is the state itself shares
// every top-level container, and one made by value shares everything.
func TestSharedPathsSeesShares(t *testing.T) {
	st := &State{}
	fillValue(reflect.ValueOf(st).Elem(), 0)
	same := *st
	got := map[string]bool{}
	sharedPaths(reflect.ValueOf(st).Elem(), reflect.ValueOf(&same).Elem(), "", got)
	for _, want := range []string{"Counters", "Tickets", "Windows", "Devices", "RecentCalls", "Roster", "Order"} {
		if !got[want] {
			t.Errorf("a copy by value shares %s, the walk did not see it (saw %v)", want, fmt.Sprint(got))
		}
	}
	c := st.Clone()
	c.Windows["x"].Current = "changed"
	c.Devices["x"] = &DeviceRecord{DeviceState: DeviceState{State: "changed"}} // records are replaced
	c.Counters["x"] = 99
	c.RecentCalls[0].Number = "changed"
	if st.Windows["x"].Current != "x" || st.Devices["x"].State != "x" || st.Counters["x"] != 1 || st.RecentCalls[0].Number != "x" {
		t.Fatal("writing into the clone changed the original")
	}
}

// Clone shares device records (cloneShares: "Devices[]"): every change a
// device reports — the same state with a new reason or detail, another
// state — must reach a Clone as a new record, never a write into the one
// the committed state holds. The model test runs no device commands, so
// this test does.
func TestDeviceChangesOnACloneLeaveTheOriginal(t *testing.T) {
	st := NewState()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	Apply(st, 1, TypeDeviceState, now, &DeviceState{Device: "p1", Kind: "ticket_printer", State: "ready", Detail: map[string]any{"paper": "ok"}})
	Apply(st, 2, TypeDeviceState, now, &DeviceState{Device: "pad-1", Kind: "eval_pad", State: "ready"})
	before, err := EncodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	c := st.Clone()
	later := now.Add(time.Minute)
	for i, e := range []*DeviceState{
		{Device: "p1", Kind: "ticket_printer", State: "ready", Reason: "paper_near_end", Detail: map[string]any{"paper": "near_end"}},
		{Device: "p1", Kind: "ticket_printer", State: "degraded", Reason: "paper_near_end"},
		{Device: "pad-1", Kind: "eval_pad", State: "offline", Reason: "no_reply"},
		{Device: "r1", Kind: "id_reader", State: "ready"},
	} {
		Apply(c, uint64(3+i), TypeDeviceState, later, e)
	}
	if c.Devices["p1"].State != "degraded" || c.Devices["pad-1"].State != "offline" || c.Devices["r1"] == nil {
		t.Fatalf("the clone did not take the changes: %+v", c.Devices)
	}
	after, err := EncodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatalf("device changes applied to a Clone changed the original:\nbefore %s\nafter  %s", before, after)
	}
}

// BenchmarkCloneBusyDay: the copy every committing batch makes (the engine's
// scratch state), with 20,000 tickets in the day (a soak at several busy
// halls' load).
func BenchmarkCloneBusyDay(b *testing.B) {
	st := NewState()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 20000; i++ {
		id := fmt.Sprintf("T20261125-A%04d", i)
		t := Ticket{ID: id, Number: fmt.Sprintf("A%04d", i%10000), Service: "s1", ServiceName: "服务", Day: "2026-11-25",
			IssuedAt: Stamp(now), Status: StatusDone, PrintStatus: PrintPrinted}
		Apply(st, uint64(i+1), TypeTicketIssued, now, &TicketIssued{Ticket: t, RequestID: "r" + id})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = st.Clone()
	}
}

// BenchmarkCloneBusyHall: the same copy in the hall daemon/bench drives — a
// real busy day of 2,000 tickets, 260 devices (200 pads, 10 printers, 10
// readers, 40 terminals) and 40 windows.
func BenchmarkCloneBusyHall(b *testing.B) {
	st := NewState()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	seq := uint64(0)
	for i := 0; i < 2000; i++ {
		id := fmt.Sprintf("T20261125-A%04d", i)
		t := Ticket{ID: id, Number: fmt.Sprintf("A%04d", i), Service: "s1", ServiceName: "服务", Day: "2026-11-25",
			IssuedAt: Stamp(now), Status: StatusDone, PrintStatus: PrintPrinted}
		seq++
		Apply(st, seq, TypeTicketIssued, now, &TicketIssued{Ticket: t, RequestID: "r" + id})
	}
	for i := 0; i < 260; i++ {
		seq++
		Apply(st, seq, TypeDeviceState, now, &DeviceState{Device: fmt.Sprintf("dev-%d", i), Kind: "eval_pad", State: "ready",
			Detail: map[string]any{"fw": "1.2"}})
	}
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("w%d", i)
		st.Windows[id] = &WindowState{ID: id, Status: WindowOpen, Staff: "s" + id}
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = st.Clone()
	}
}
