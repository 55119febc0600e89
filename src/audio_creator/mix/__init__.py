"""Pure DSP on `Audio`: loudness, true peak, ducking, fades, fitting, limiting, and the mixer."""
