// Compiled with one layer's include path and XRUN_PROBE naming a header of a layer it must not
// use: the build of xrun keeps the direction of its dependencies only if this fails.
#include XRUN_PROBE
