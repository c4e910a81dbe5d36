package central

import (
	"fmt"

	"halld/daemon/hall"
)

// Name is who the central server's actions are recorded under; an
// operator it names (args "by") follows it: "central/王科长".
const Name = "central"

// alertCommand maps alert.ack, alert.assign and alert.close to the same
// hall commands the monitoring room's API gives, under the central
// server's name. Args: {"id", "note", "to" (assign), "by" (optional: the
// central operator)}.
func alertCommand(name string, args []byte) (any, error) {
	var a struct {
		ID   string `json:"id"`
		Note string `json:"note"`
		To   string `json:"to"`
		By   string `json:"by"`
	}
	if err := strict(args, &a); err != nil {
		return nil, err
	}
	if a.ID == "" {
		return nil, fmt.Errorf("bad args: id required")
	}
	if a.To != "" && name != "alert.assign" {
		return nil, fmt.Errorf("bad args: to is for alert.assign only")
	}
	by := Name
	if a.By != "" {
		by += "/" + a.By // the rules bound its length and characters
	}
	switch name {
	case "alert.ack":
		return hall.AckAlert{AlertID: a.ID, By: by, Note: a.Note}, nil
	case "alert.assign":
		return hall.AssignAlert{AlertID: a.ID, By: by, To: a.To, Note: a.Note}, nil
	}
	return hall.CloseAlert{AlertID: a.ID, By: by, Note: a.Note}, nil
}
