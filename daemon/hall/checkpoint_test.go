package hall

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A checkpoint is JSON: a field JSON cannot see (unexported, or tagged "-")
// would silently reset at every restart. Walk every type State holds.
func TestStateHasNoFieldACheckpointWouldLose(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			if ty.Kind() == reflect.Map {
				walk(ty.Key(), path+"[key]")
			}
			ty = ty.Elem()
		}
		marshaler := reflect.TypeOf((*json.Marshaler)(nil)).Elem()
		if ty.Kind() != reflect.Struct || seen[ty] || ty == reflect.TypeOf(time.Time{}) || ty.Implements(marshaler) {
			return // a type that marshals itself carries its own state
		}
		seen[ty] = true
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			p := path + "." + f.Name
			if !f.IsExported() {
				t.Errorf("%s (%s) is unexported: a checkpoint would lose it", p, ty)
			}
			if tag := f.Tag.Get("json"); tag == "-" || strings.HasPrefix(tag, "-,") && tag != "-," {
				t.Errorf("%s is tagged json:%q: a checkpoint would lose it", p, tag)
			}
			walk(f.Type, p)
		}
	}
	walk(reflect.TypeOf(State{}), "State")
	if len(seen) < 8 {
		t.Fatalf("walked only %d types", len(seen))
	}
}

// Every map of a decoded state can be written to, even when the checkpoint
// had it empty (null).
func TestDecodedStateHasNoNilMaps(t *testing.T) {
	st, err := DecodeState([]byte(`{"version":` + strconv.Itoa(StateVersion) + `,"state":{"Counters":null,"Tickets":null,"Requests":null,"Devices":null,"Windows":null,"Visits":null,"VisitInfo":null,"Rated":null,"Finished":null,"TimedOut":null,"Alerts":null,"DeviceSeq":null,"DeviceEventIDs":null,"FollowUps":null,"Appointments":null,"Notices":null,"ClosedServices":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(st).Elem()
	maps := 0
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Map {
			maps++
			if f.IsNil() {
				t.Errorf("State.%s is nil after decoding", v.Type().Field(i).Name)
			}
		}
	}
	if maps < 17 {
		t.Fatalf("only %d maps: the null list above is out of date", maps)
	}
	if _, err := DecodeState([]byte(`{"version":` + strconv.Itoa(StateVersion+1) + `,"state":{}}`)); err == nil {
		t.Fatal("a checkpoint of another version was accepted")
	}
	if _, err := DecodeState([]byte(`{"version":` + strconv.Itoa(MinStateVersion-1) + `,"state":{}}`)); err == nil {
		t.Fatal("a checkpoint older than MinStateVersion was accepted")
	}
	// A version-3 checkpoint is read (it folds on under version 4's rules),
	// so upgrading halld keeps the follow-ups only checkpoints still hold.
	old, err := DecodeState([]byte(`{"version":3,"state":{"FollowUps":{"fu-7":{"followup_id":"fu-7","visit":7,"stage":"rectify"}}}}`))
	if err != nil || old.FollowUps["fu-7"] == nil || old.Alerts == nil {
		t.Fatalf("version 3 checkpoint: %v %+v", err, old)
	}
	if _, err := DecodeState([]byte(`{"version":` + strconv.Itoa(StateVersion) + `,"state":[]}`)); err == nil {
		t.Fatal("a malformed checkpoint was accepted")
	}
}
