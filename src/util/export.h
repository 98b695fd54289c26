/* The one way a symbol leaves libmemshim.so: MS_EXPORT on its definition, and its name in
 * src/memshim.map (the linker version script). Everything else is hidden (-fvisibility=hidden). */
#ifndef MEMSHIM_UTIL_EXPORT_H
#define MEMSHIM_UTIL_EXPORT_H

#define MS_EXPORT __attribute__((visibility("default")))

#endif
