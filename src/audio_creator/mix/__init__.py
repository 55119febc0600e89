"""The mixer: tracks on a timeline, fitted (looped, padded, faded), ducked under the speech,
and levelled with `dsp` to a loudness target under a true-peak ceiling."""
