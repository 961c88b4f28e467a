package loader

// Auxiliary vector entry types (include/uapi/linux/auxvec.h).
const (
	AtNull        = 0
	AtPhdr        = 3
	AtPhent       = 4
	AtPhnum       = 5
	AtPagesz      = 6
	AtBase        = 7
	AtFlags       = 8
	AtEntry       = 9
	AtUID         = 11
	AtEUID        = 12
	AtGID         = 13
	AtEGID        = 14
	AtPlatform    = 15
	AtHWCap       = 16
	AtClkTck      = 17
	AtSecure      = 23
	AtRandom      = 25
	AtHWCap2      = 26
	AtExecFn      = 31
	AtSysinfoEHdr = 33
	AtMinSigStkSz = 51
)
