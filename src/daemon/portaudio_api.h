/* PortAudio, loaded when a PortAudio source is opened rather than linked.
 *
 * Why: PortAudio brings ALSA, JACK, libstdc++ and Berkeley DB into the
 * process (about 2.2 MiB resident), which a daemon recording a file or a
 * PulseAudio server never uses.  So genred resolves the PortAudio calls it
 * makes from libportaudio.so.2 at the first open, as this table.  The
 * library stays loaded once loaded (PortAudio and ALSA are not made to be
 * unloaded); a table is plain data any caller can keep. */
#ifndef GENRED_PORTAUDIO_API_H
#define GENRED_PORTAUDIO_API_H

#include <portaudio.h>
#include <stddef.h>

typedef struct genred_portaudio_api {
    PaError (*Initialize)(void);
    PaError (*Terminate)(void);
    const char *(*GetErrorText)(PaError e);
    const PaHostErrorInfo *(*GetLastHostErrorInfo)(void);
    PaDeviceIndex (*GetDeviceCount)(void);
    PaDeviceIndex (*GetDefaultInputDevice)(void);
    const PaDeviceInfo *(*GetDeviceInfo)(PaDeviceIndex d);
    const PaHostApiInfo *(*GetHostApiInfo)(PaHostApiIndex a);
    PaError (*IsFormatSupported)(const PaStreamParameters *in, const PaStreamParameters *out,
                                 double rate);
    PaError (*OpenStream)(PaStream **stream, const PaStreamParameters *in,
                          const PaStreamParameters *out, double rate, unsigned long frames,
                          PaStreamFlags flags, PaStreamCallback *callback, void *user);
    PaError (*SetStreamFinishedCallback)(PaStream *stream, PaStreamFinishedCallback *callback);
    const PaStreamInfo *(*GetStreamInfo)(PaStream *stream);
    PaError (*StartStream)(PaStream *stream);
    PaError (*IsStreamActive)(PaStream *stream);
    PaError (*AbortStream)(PaStream *stream);
    PaError (*CloseStream)(PaStream *stream);
} genred_portaudio_api;

/* Fills api from libportaudio.so.2.  0, or -1 with a reason (the library or
 * one of its calls is missing). */
int genred_portaudio_load(genred_portaudio_api *api, char *err, size_t errlen);

#endif
