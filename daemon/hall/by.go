package hall

// Every change a person makes names who made it: a window action's events
// carry the command's By (a token's name, "loopback", a staff id), so the
// journal, the central server and the reports see who called, finished or
// paused. A pad key's command has none: the pad is named by the device
// event that carries it (FromDevice).

// actorOf is the By of a window command ("" for those that have none).
func actorOf(cmd any) string {
	switch c := cmd.(type) {
	case CallNext:
		return c.By
	case CallTicket:
		return c.By
	case Recall:
		return c.By
	case NoShow:
		return c.By
	case Start:
		return c.By
	case Finish:
		return c.By
	case Hold:
		return c.By
	case Transfer:
		return c.By
	case Pause:
		return c.By
	case Resume:
		return c.By
	case SignIn:
		return c.By
	case SignOut:
		return c.By
	}
	return ""
}

// stampBy sets by on the action's events that do not name anyone yet (a
// sign-in's sign-out elsewhere included); rating outcomes and alerts the
// action brings about are the rules', not the person's, and stay as they are.
func stampBy(out []Emit, by string) {
	if by == "" {
		return
	}
	for _, e := range out {
		switch d := e.Data.(type) {
		case *TicketCalled:
			d.By = or(d.By, by)
		case *TicketRecalled:
			d.By = or(d.By, by)
		case *TicketNoShow:
			d.By = or(d.By, by)
		case *TicketHeld:
			d.By = or(d.By, by)
		case *TicketTransferred:
			d.By = or(d.By, by)
		case *ServiceStarted:
			d.By = or(d.By, by)
		case *ServiceFinished:
			d.By = or(d.By, by)
		case *WindowPause:
			d.By = or(d.By, by)
		case *WindowResumed:
			d.By = or(d.By, by)
		case *StaffSignedIn:
			d.By = or(d.By, by)
		case *StaffSignedOut:
			d.By = or(d.By, by)
		}
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
