#include "portaudio_api.h"

#include <dlfcn.h>
#include <string.h>

#include "genre/error.h"

/* The soname of the PortAudio v19 ABI portaudio.h describes. */
#define PORTAUDIO_LIBRARY "libportaudio.so.2"

int genred_portaudio_load(genred_portaudio_api *api, char *err, size_t errlen)
{
    void *lib = dlopen(PORTAUDIO_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        genre_set_error(err, errlen, "cannot load PortAudio: %s", why ? why : PORTAUDIO_LIBRARY);
        return -1;
    }
    /* Each field by its PortAudio name, its type checked against
     * portaudio.h's prototype at compile time (no reference to the symbol,
     * which would link the library again). */
#define RESOLVE(field)                                                                   \
    do {                                                                                 \
        void *sym = dlsym(lib, "Pa_" #field);                                            \
        if (!sym) {                                                                      \
            genre_set_error(err, errlen, "PortAudio (%s) has no Pa_" #field,             \
                            PORTAUDIO_LIBRARY);                                          \
            return -1;                                                                   \
        }                                                                                \
        _Static_assert(__builtin_types_compatible_p(__typeof__(api->field),              \
                                                    __typeof__(&Pa_##field)),            \
                       "Pa_" #field " has another type in portaudio.h");                 \
        memcpy(&api->field, &sym, sizeof sym);                                           \
    } while (0)
    RESOLVE(Initialize);
    RESOLVE(Terminate);
    RESOLVE(GetErrorText);
    RESOLVE(GetLastHostErrorInfo);
    RESOLVE(GetDeviceCount);
    RESOLVE(GetDefaultInputDevice);
    RESOLVE(GetDeviceInfo);
    RESOLVE(GetHostApiInfo);
    RESOLVE(IsFormatSupported);
    RESOLVE(OpenStream);
    RESOLVE(SetStreamFinishedCallback);
    RESOLVE(GetStreamInfo);
    RESOLVE(StartStream);
    RESOLVE(IsStreamActive);
    RESOLVE(AbortStream);
    RESOLVE(CloseStream);
#undef RESOLVE
    return 0;
}
