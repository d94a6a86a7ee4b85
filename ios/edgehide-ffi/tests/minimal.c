/* The smallest useful C program over edgehide: open an encryptor from a
 * sidecar, encrypt one NV12 camera frame, print what leaves the device.
 * Its stripped size is the C library's footprint (scripts/library-size.sh). */
#include <stdio.h>
#include <stdlib.h>

#include "edgehide.h"

int main(int argc, char **argv) {
    const char *sidecar = argc > 1 ? argv[1] : "models/fashion-mnist-k4.json";
    EhEncryptor *enc = NULL;
    if (eh_encryptor_open(NULL, sidecar, NULL, EH_BACKEND_AUTO, &enc) != EH_OK) {
        fprintf(stderr, "%s\n", eh_last_error());
        return 1;
    }
    enum { W = 640, H = 480 };
    static unsigned char y[W * H], uv[W * H / 2];
    for (size_t i = 0; i < sizeof y; i++) y[i] = (unsigned char)(16 + i % 200);
    for (size_t i = 0; i < sizeof uv; i++) uv[i] = 128;
    EhFrame frame = {EH_FORMAT_NV12, W, H,
                     {{y, sizeof y, W, 1}, {uv, sizeof uv, W, 2}, {NULL, 0, 0, 1}},
                     0, 0, 0, 0};
    size_t n = eh_encryptor_output_len(enc);
    float *out = malloc(n * sizeof *out);
    int status = eh_encrypt(enc, &frame, out, n);
    if (status == EH_OK) printf("%zu values on %s, first %f\n", n, eh_encryptor_backend(enc), out[0]);
    else fprintf(stderr, "%s\n", eh_last_error());
    free(out);
    eh_encryptor_free(enc);
    return status;
}
