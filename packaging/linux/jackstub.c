/* A stand-in for libjack.so.0, for machines without JACK.
 *
 * Debian's libportaudio.so.2 (which the bundle carries) is linked against
 * libjack.so.0. The bundle does not carry the build host's libjack: a JACK
 * client library must match the JACK server of the machine it runs on. The
 * runtime hook (packaging/rthook_bundled_libs.py) loads the machine's own
 * libjack.so.0 when there is one and this stub only when there is none.
 * jack_client_open() fails, so PortAudio leaves its JACK host API out and
 * uses ALSA (and PulseAudio/PipeWire through ALSA); nothing else is called.
 * The names are the 25 functions PortAudio 19.6 imports from libjack.
 */
#include <stddef.h>

void *jack_client_open(const char *name, int options, int *status, ...) {
    (void)name; (void)options;
    if (status) *status = 0x01 | 0x10; /* JackFailure | JackServerFailed */
    return NULL;
}

#define STUB(name) int name(void) { return -1; }
#define STUB_PTR(name) void *name(void) { return NULL; }

STUB(jack_activate)
STUB(jack_client_close)
STUB(jack_client_name_size)
STUB(jack_connect)
STUB(jack_deactivate)
STUB(jack_frame_time)
STUB(jack_get_buffer_size)
STUB_PTR(jack_get_client_name)
STUB_PTR(jack_get_ports)
STUB(jack_get_sample_rate)
STUB(jack_on_shutdown)
STUB_PTR(jack_port_by_name)
STUB(jack_port_connected)
STUB(jack_port_disconnect)
STUB_PTR(jack_port_get_buffer)
STUB(jack_port_get_latency)
STUB_PTR(jack_port_name)
STUB(jack_port_name_size)
STUB_PTR(jack_port_register)
STUB(jack_port_unregister)
STUB(jack_set_error_function)
STUB(jack_set_process_callback)
STUB(jack_set_sample_rate_callback)
STUB(jack_set_xrun_callback)
