package serialport

// FD is the descriptor a port does its I/O on (tests check it is >= 1024).
func FD(p *Port) int { return p.fd }
