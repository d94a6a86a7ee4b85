/*
 * The C ABI, called as an app would: every function, good and bad input,
 * and a real end-to-end run against `edgehide serve` with Fashion-MNIST
 * test frames given as NV12. Run by tests/run.sh, which starts the server
 * and passes:
 *
 *   test_edgehide SIDECAR URL FRAMES LABELS N EVAL_ACCURACY \
 *                 DN_SIDECAR DN_KEY DN_N DN_EVAL_ACCURACY
 *
 * FRAMES: N raw 28x28 grey images; LABELS: N bytes; EVAL_ACCURACY: what
 * `edgehide eval` reports for the same N images, or "-" to skip that
 * comparison (a short run under valgrind). DN_*: a DisguisedNets model
 * served by the same server, its key file, and `edgehide eval --key` on its
 * first DN_N frames. Ends with "N passed, N failed".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgehide.h"

static int passed, failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, " (last error: %s)\n", eh_last_error());         \
        }                                                                    \
    } while (0)

#define EXPECT(status, call)                                                 \
    do {                                                                     \
        int32_t got_ = (call);                                               \
        CHECK(got_ == (status), "%s returned %d, expected %d", #call, got_,  \
              (status));                                                     \
    } while (0)

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

/* An NV12 frame with padded rows; the caller frees y and uv. */
typedef struct {
    unsigned char *y, *uv;
    size_t y_stride, uv_stride, y_len, uv_len;
    uint32_t w, h;
} Nv12;

/* Grey pixels (w x h, packed) as video-range NV12 with `pad` bytes of
 * padding per row. */
static Nv12 nv12_from_grey(const unsigned char *grey, uint32_t w, uint32_t h, size_t pad) {
    Nv12 f;
    f.w = w;
    f.h = h;
    f.y_stride = w + pad;
    f.uv_stride = ((w + 1) / 2) * 2 + pad;
    f.y_len = f.y_stride * h;
    f.uv_len = f.uv_stride * ((h + 1) / 2);
    f.y = malloc(f.y_len);
    f.uv = malloc(f.uv_len);
    memset(f.y, 0xEE, f.y_len);
    memset(f.uv, 128, f.uv_len);
    for (uint32_t r = 0; r < h; r++)
        for (uint32_t c = 0; c < w; c++)
            f.y[r * f.y_stride + c] = (unsigned char)(16 + (grey[r * w + c] * 219 + 127) / 255);
    return f;
}

static EhFrame frame_nv12(const Nv12 *f) {
    EhFrame fr;
    memset(&fr, 0, sizeof fr);
    fr.format = EH_FORMAT_NV12;
    fr.width = f->w;
    fr.height = f->h;
    fr.planes[0].data = f->y;
    fr.planes[0].len = f->y_len;
    fr.planes[0].row_stride = f->y_stride;
    fr.planes[0].pixel_stride = 1;
    fr.planes[1].data = f->uv;
    fr.planes[1].len = f->uv_len;
    fr.planes[1].row_stride = f->uv_stride;
    fr.planes[1].pixel_stride = 2;
    return fr;
}

static void test_version_and_errors(void) {
    CHECK(strcmp(eh_version(), "0.1.0") == 0, "version %s", eh_version());
    CHECK(eh_last_error() != NULL, "last error is never NULL");
    EhEncryptor *enc = NULL;
    EXPECT(EH_NULL_POINTER, eh_encryptor_open("{}", NULL, NULL, EH_BACKEND_CPU, NULL));
    CHECK(strlen(eh_last_error()) > 0, "a failure leaves a message");
    EXPECT(EH_INVALID_ARGUMENT, eh_encryptor_open(NULL, NULL, NULL, EH_BACKEND_CPU, &enc));
    EXPECT(EH_INVALID_ARGUMENT, eh_encryptor_open("{}", "x.json", NULL, EH_BACKEND_CPU, &enc));
    EXPECT(EH_INVALID_SPEC, eh_encryptor_open("{not json", NULL, NULL, EH_BACKEND_CPU, &enc));
    EXPECT(EH_IO, eh_encryptor_open(NULL, "/nonexistent/model.json", NULL, EH_BACKEND_CPU, &enc));
    CHECK(enc == NULL, "no handle after a failure");
}

static void test_encryptor(const char *sidecar_path) {
    size_t len = 0;
    unsigned char *json = read_file(sidecar_path, &len);
    CHECK(json != NULL, "read %s", sidecar_path);
    if (!json) return;
    EhEncryptor *enc = NULL;
    EXPECT(EH_INVALID_ARGUMENT, eh_encryptor_open((const char *)json, NULL, NULL, 7, &enc));
    EXPECT(EH_IO, eh_encryptor_open((const char *)json, NULL, "/nonexistent.ehpool", EH_BACKEND_CPU, &enc));
    EXPECT(EH_OK, eh_encryptor_open((const char *)json, NULL, NULL, EH_BACKEND_CPU, &enc));
    EhEncryptor *by_path = NULL;
    EXPECT(EH_OK, eh_encryptor_open(NULL, sidecar_path, NULL, EH_BACKEND_AUTO, &by_path));
    CHECK(by_path != NULL && eh_encryptor_backend(by_path) != NULL, "auto backend named");
    eh_encryptor_free(by_path);
    free(json);
    if (!enc) return;
    CHECK(strcmp(eh_encryptor_backend(enc), "cpu") == 0, "backend %s", eh_encryptor_backend(enc));
    CHECK(eh_encryptor_fallback_reason(enc) == NULL, "no fallback when the CPU was asked for");
    size_t n = eh_encryptor_output_len(enc);
    CHECK(n == 28 * 28, "output length %zu", n);
    float *out = calloc(n, sizeof(float));

    /* NV12 with padded rows, odd size, every rotation and a mirror. */
    unsigned char grey[31 * 23];
    for (size_t i = 0; i < sizeof grey; i++) grey[i] = (unsigned char)(i * 7);
    Nv12 f = nv12_from_grey(grey, 31, 23, 5);
    EhFrame fr = frame_nv12(&f);
    for (uint32_t rot = 0; rot < 360; rot += 90) {
        fr.rotation_degrees = rot;
        fr.mirror = rot == 90;
        EXPECT(EH_OK, eh_encrypt(enc, &fr, out, n));
    }
    int finite = 1, negative = 0;
    for (size_t i = 0; i < n; i++) {
        finite &= isfinite(out[i]) != 0;
        negative += out[i] < 0;
    }
    CHECK(finite && negative > 0 && negative < (int)n, "the sign mask flips some values");
    fr.rotation_degrees = 45;
    EXPECT(EH_INVALID_ARGUMENT, eh_encrypt(enc, &fr, out, n));
    fr.rotation_degrees = 0;

    /* NV21, I420, YUV_420_888 (pixel stride 2) and BGRA of the same size. */
    EhFrame nv21 = fr;
    nv21.format = EH_FORMAT_NV21;
    EXPECT(EH_OK, eh_encrypt(enc, &nv21, out, n));
    EhFrame y420 = fr;
    y420.format = EH_FORMAT_YUV_420_888;
    y420.planes[2] = y420.planes[1];
    y420.planes[2].data = f.uv + 1;
    y420.planes[2].len = f.uv_len - 1;
    EXPECT(EH_OK, eh_encrypt(enc, &y420, out, n));
    size_t cw = 16, ch = 12;
    unsigned char *u = malloc(cw * ch), *v = malloc(cw * ch);
    memset(u, 128, cw * ch);
    memset(v, 128, cw * ch);
    EhFrame i420 = fr;
    i420.format = EH_FORMAT_I420;
    i420.planes[1].data = u;
    i420.planes[1].len = cw * ch;
    i420.planes[1].row_stride = cw;
    i420.planes[1].pixel_stride = 1;
    i420.planes[2] = i420.planes[1];
    i420.planes[2].data = v;
    EXPECT(EH_OK, eh_encrypt(enc, &i420, out, n));
    i420.planes[2].len = cw * ch - 1;
    EXPECT(EH_INVALID_FRAME, eh_encrypt(enc, &i420, out, n));
    size_t bstride = 31 * 4 + 12;
    unsigned char *bgra = malloc(bstride * 23);
    memset(bgra, 90, bstride * 23);
    EhFrame packed;
    memset(&packed, 0, sizeof packed);
    packed.format = EH_FORMAT_BGRA8;
    packed.width = 31;
    packed.height = 23;
    packed.planes[0].data = bgra;
    packed.planes[0].len = bstride * 23;
    packed.planes[0].row_stride = bstride;
    EXPECT(EH_OK, eh_encrypt(enc, &packed, out, n));
    packed.planes[0].row_stride = 31 * 4 - 1;
    EXPECT(EH_INVALID_FRAME, eh_encrypt(enc, &packed, out, n));

    /* Bad frames and buffers. */
    EhFrame bad = fr;
    bad.planes[1].len = f.uv_len - f.uv_stride;
    EXPECT(EH_INVALID_FRAME, eh_encrypt(enc, &bad, out, n));
    bad = fr;
    bad.planes[0].row_stride = 30;
    EXPECT(EH_INVALID_FRAME, eh_encrypt(enc, &bad, out, n));
    bad = fr;
    bad.format = 99;
    EXPECT(EH_UNKNOWN_FORMAT, eh_encrypt(enc, &bad, out, n));
    bad = fr;
    bad.planes[0].data = NULL;
    EXPECT(EH_NULL_POINTER, eh_encrypt(enc, &bad, out, n));
    bad = fr;
    bad.planes[1].len = 0;
    EXPECT(EH_INVALID_FRAME, eh_encrypt(enc, &bad, out, n));
    bad = fr;
    bad.width = 0;
    EXPECT(EH_INVALID_FRAME, eh_encrypt(enc, &bad, out, n));
    bad = fr;
    bad.matrix = 9;
    EXPECT(EH_INVALID_ARGUMENT, eh_encrypt(enc, &bad, out, n));
    EXPECT(EH_BUFFER_SIZE, eh_encrypt(enc, &fr, out, n - 1));
    EXPECT(EH_NULL_POINTER, eh_encrypt(enc, &fr, NULL, n));
    EXPECT(EH_NULL_POINTER, eh_encrypt(enc, NULL, out, n));
    EXPECT(EH_NULL_POINTER, eh_encrypt(NULL, &fr, out, n));

    /* Closed and mistyped handles are refused, double frees ignored. */
    EhVideoSession *session = NULL;
    EXPECT(EH_OK, eh_video_session_new(0, 0, &session));
    EXPECT(EH_CLOSED_HANDLE, eh_encrypt((const EhEncryptor *)session, &fr, out, n));
    eh_video_session_free(session);
    eh_encryptor_free(enc);
    EXPECT(EH_CLOSED_HANDLE, eh_encrypt(enc, &fr, out, n));
    CHECK(eh_encryptor_output_len(enc) == 0, "a closed handle has no output length");
    CHECK(eh_encryptor_backend(enc) == NULL, "a closed handle has no backend");
    eh_encryptor_free(enc);
    eh_encryptor_free(NULL);
    eh_client_free(NULL);
    eh_video_session_free(NULL);

    free(out);
    free(f.y);
    free(f.uv);
    free(u);
    free(v);
    free(bgra);
}

/* Classifies `count` frames given as NV12 (rows padded by 8 bytes) through
 * `client` and compares the accuracy with `eval_accuracy` (skipped when
 * negative); `*last` gets the last answer. */
static void classify_all(EhClient *client, const char *what, const unsigned char *frames,
                         const unsigned char *labels, int count, double eval_accuracy,
                         EhClassification *last) {
    int correct = 0;
    for (int i = 0; i < count; i++) {
        Nv12 f = nv12_from_grey(frames + (size_t)i * 784, 28, 28, 8);
        EhFrame fr = frame_nv12(&f);
        int32_t s = eh_classify(client, &fr, last);
        if (s != EH_OK) {
            CHECK(0, "classify frame %d: %d", i, s);
        } else {
            correct += last->class_index == labels[i];
        }
        free(f.y);
        free(f.uv);
    }
    double accuracy = count ? (double)correct / count : 0.0;
    printf("NV12 through the C ABI%s: %d of %d correct (%.4f); edgehide eval: %.4f\n", what,
           correct, count, accuracy, eval_accuracy >= 0.0 ? eval_accuracy : NAN);
    if (eval_accuracy >= 0.0)
        CHECK(fabs(accuracy - eval_accuracy) <= 0.02, "accuracy%s %.4f against eval's %.4f", what,
              accuracy, eval_accuracy);
}

static void test_client(const char *sidecar_path, const char *url, const unsigned char *frames,
                        const unsigned char *labels, int count, double eval_accuracy) {
    EhEncryptor *enc = NULL;
    EXPECT(EH_OK, eh_encryptor_open(NULL, sidecar_path, NULL, EH_BACKEND_CPU, &enc));
    if (!enc) return;
    EhClient *client = NULL;
    EhClientOptions opts = {5000, 1, 5, 0, NULL};
    EXPECT(EH_NULL_POINTER, eh_client_connect(NULL, "fashion-mnist-k4", enc, &opts, &client));
    EXPECT(EH_TRANSPORT, eh_client_connect("http://127.0.0.1:9", "fashion-mnist-k4", enc, &opts, &client));
    EXPECT(EH_SERVER, eh_client_connect(url, "no-such-model", enc, &opts, &client));
    opts.top_k = EH_TOP_K_MAX + 1;
    EXPECT(EH_INVALID_ARGUMENT, eh_client_connect(url, "fashion-mnist-k4", enc, &opts, &client));
    opts.top_k = 5;
    opts.tls_roots_pem = "not a certificate";
    EXPECT(EH_INVALID_ARGUMENT, eh_client_connect(url, "fashion-mnist-k4", enc, &opts, &client));
    opts.tls_roots_pem = NULL;
    EXPECT(EH_OK, eh_client_connect(url, "fashion-mnist-k4", enc, &opts, &client));
    /* The client keeps what it needs of the encryptor. */
    eh_encryptor_free(enc);
    if (!client) return;

    EhClassification c;
    classify_all(client, "", frames, labels, count, eval_accuracy, &c);
    CHECK(c.top_k == 5 && c.top_index[0] == c.class_index && c.label[0] != 0 &&
              c.top_probability[0] >= c.top_probability[1] && c.probability > 0.0f,
          "a full answer: %u %s %f", c.class_index, c.label, c.probability);
    EXPECT(EH_NULL_POINTER, eh_classify(client, NULL, &c));

    /* A still scene: one encryption, then the answer is reused. */
    EhVideoSession *session = NULL;
    EXPECT(EH_OK, eh_video_session_new(1, 3600, &session));
    Nv12 f = nv12_from_grey(frames, 28, 28, 0);
    EhFrame fr = frame_nv12(&f);
    uint32_t kind = 99;
    EXPECT(EH_OK, eh_video_classify(session, client, &fr, &kind, &c));
    CHECK(kind == EH_ANSWER_FRESH, "first frame of a scene is sent (%u)", kind);
    EXPECT(EH_OK, eh_video_classify(session, client, &fr, &kind, &c));
    CHECK(kind == EH_ANSWER_REUSED, "the same scene again is not sent (%u)", kind);
    EXPECT(EH_NULL_POINTER, eh_video_classify(session, client, &fr, NULL, &c));
    EXPECT(EH_CLOSED_HANDLE, eh_video_classify(session, (const EhClient *)session, &fr, &kind, &c));
    eh_video_session_free(session);
    free(f.y);
    free(f.uv);
    eh_client_free(client);
    EXPECT(EH_CLOSED_HANDLE, eh_classify(client, &fr, &c));
}

/* A DisguisedNets model: opened with its key file, deterministic without
 * noise, refused without its key or with a bad one, classified by a server
 * that never sees the key. */
static void test_keyed(const char *dn_sidecar, const char *dn_key, const char *ih_sidecar,
                       const char *url, const unsigned char *frames, const unsigned char *labels,
                       int count, double eval_accuracy) {
    EhEncryptor *enc = NULL;
    EXPECT(EH_INVALID_SPEC, eh_encryptor_open(NULL, dn_sidecar, NULL, EH_BACKEND_CPU, &enc));
    EXPECT(EH_INVALID_SPEC, eh_encryptor_open_keyed(NULL, ih_sidecar, dn_key, EH_BACKEND_CPU, &enc));
    EXPECT(EH_INVALID_KEY, eh_encryptor_open_keyed(NULL, dn_sidecar, dn_sidecar, EH_BACKEND_CPU, &enc));
    EXPECT(EH_IO, eh_encryptor_open_keyed(NULL, dn_sidecar, "/nonexistent.ehkey", EH_BACKEND_CPU, &enc));
    EXPECT(EH_NULL_POINTER, eh_encryptor_open_keyed(NULL, dn_sidecar, NULL, EH_BACKEND_CPU, &enc));
    EXPECT(EH_INVALID_ARGUMENT, eh_encryptor_open_keyed(NULL, NULL, dn_key, EH_BACKEND_CPU, &enc));
    EXPECT(EH_INVALID_ARGUMENT, eh_encryptor_open_keyed(NULL, dn_sidecar, dn_key, 7, &enc));
    CHECK(enc == NULL, "no handle after a failure");
    EXPECT(EH_OK, eh_encryptor_open_keyed(NULL, dn_sidecar, dn_key, EH_BACKEND_CPU, &enc));
    if (!enc) return;
    size_t n = eh_encryptor_output_len(enc);
    float *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    Nv12 f = nv12_from_grey(frames, 28, 28, 8);
    EhFrame fr = frame_nv12(&f);
    EXPECT(EH_OK, eh_encrypt(enc, &fr, a, n));
    EXPECT(EH_OK, eh_encrypt(enc, &fr, b, n));
    CHECK(n == 784 && memcmp(a, b, n * sizeof *a) == 0,
          "one deployment key, no noise: the same frame encrypts the same");
    free(f.y);
    free(f.uv);
    free(a);
    free(b);

    EhClient *client = NULL;
    EhClientOptions opts = {5000, 1, 3, 0, NULL};
    /* The InstaHide model on the same server expects another encryption. */
    EXPECT(EH_SERVER_MISMATCH, eh_client_connect(url, "fashion-mnist-k4", enc, &opts, &client));
    EXPECT(EH_OK, eh_client_connect(url, "fashion-mnist-dn-b4", enc, &opts, &client));
    eh_encryptor_free(enc);
    if (!client) return;
    EhClassification c;
    classify_all(client, " (DisguisedNets)", frames, labels, count, eval_accuracy, &c);
    eh_client_free(client);
}

int main(int argc, char **argv) {
    if (argc != 11) {
        fprintf(stderr,
                "usage: %s SIDECAR URL FRAMES LABELS N EVAL_ACCURACY DN_SIDECAR DN_KEY DN_N "
                "DN_EVAL_ACCURACY\n",
                argv[0]);
        return 2;
    }
    int count = atoi(argv[5]);
    size_t flen = 0, llen = 0;
    unsigned char *frames = read_file(argv[3], &flen);
    unsigned char *labels = read_file(argv[4], &llen);
    if (!frames || !labels || flen < (size_t)count * 784 || llen < (size_t)count) {
        fprintf(stderr, "cannot read %d frames from %s and %s\n", count, argv[3], argv[4]);
        return 2;
    }
    test_version_and_errors();
    test_encryptor(argv[1]);
    double eval_accuracy = strcmp(argv[6], "-") == 0 ? -1.0 : atof(argv[6]);
    test_client(argv[1], argv[2], frames, labels, count, eval_accuracy);
    int dn_count = atoi(argv[9]);
    double dn_eval = strcmp(argv[10], "-") == 0 ? -1.0 : atof(argv[10]);
    if (dn_count > count) dn_count = count;
    test_keyed(argv[7], argv[8], argv[1], argv[2], frames, labels, dn_count, dn_eval);
    free(frames);
    free(labels);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
