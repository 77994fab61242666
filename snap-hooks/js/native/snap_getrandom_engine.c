/*
 * snap_getrandom_engine: an OpenSSL 3.0 dynamic ENGINE whose RAND method
 * takes every byte straight from the kernel with getrandom(2).
 *
 * Why: OpenSSL's DRBGs live in process memory, so every copy restored from
 * one snapshot would carry the same DRBG state. OpenSSL reseeds them after
 * fork() by comparing getpid(), but CRIU restores the original pid, so the
 * copies would hand out identical "random" bytes (crypto.randomBytes, UUIDs,
 * TLS client randoms and ephemeral keys). This method keeps no state at all,
 * so there is nothing a snapshot could duplicate.
 *
 * How it is loaded: from JavaScript, `crypto.setEngine(<path of this .so>,
 * crypto.constants.ENGINE_METHOD_RAND)`. Node's bundled OpenSSL then runs
 * bind() below. The library is built without -lcrypto: its OpenSSL symbols
 * resolve against the ones the node executable exports, so the process keeps
 * exactly one libcrypto.
 *
 * bind() also installs the method with RAND_set_rand_method(), because
 * RAND_get_rand_method() caches the method it picked at the first RAND call
 * (Node makes one at startup), so registering the engine as the default
 * alone would change nothing. From then on RAND_bytes and RAND_priv_bytes,
 * through which Node's crypto, TLS and key generation draw randomness, never
 * touch the DRBGs again.
 *
 * One load per process: OpenSSL refuses to bind the same library a second
 * time while the first ENGINE is alive, so the caller loads it once.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <errno.h>
#include <stddef.h>
#include <sys/random.h>

#include <openssl/engine.h>
#include <openssl/rand.h>

static const char ENGINE_ID[] = "snap-getrandom";
static const char ENGINE_NAME[] = "snap: RAND from getrandom(2), stateless";

/* Fills buf with num bytes from the kernel. 1 on success, 0 on failure. */
static int snap_rand_bytes(unsigned char *buf, int num)
{
    size_t done = 0;
    size_t want;

    if (num < 0)
        return 0;
    want = (size_t)num;
    while (done < want) {
        ssize_t got = getrandom(buf + done, want - done, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        done += (size_t)got;
    }
    return 1;
}

/* The kernel pool needs no seeding from us: accept and ignore. */
static int snap_rand_seed(const void *buf, int num)
{
    (void)buf;
    (void)num;
    return 1;
}

static int snap_rand_add(const void *buf, int num, double randomness)
{
    (void)buf;
    (void)num;
    (void)randomness;
    return 1;
}

static int snap_rand_status(void)
{
    return 1;
}

static RAND_METHOD snap_rand_method = {
    snap_rand_seed,   /* seed */
    snap_rand_bytes,  /* bytes */
    NULL,             /* cleanup */
    snap_rand_add,    /* add */
    snap_rand_bytes,  /* pseudorand */
    snap_rand_status, /* status */
};

/* id is whatever the loader was asked for (Node passes the path); ignored. */
static int snap_bind(ENGINE *e, const char *id)
{
    (void)id;
    if (!ENGINE_set_id(e, ENGINE_ID) || !ENGINE_set_name(e, ENGINE_NAME)
            || !ENGINE_set_RAND(e, &snap_rand_method))
        return 0;
    return RAND_set_rand_method(&snap_rand_method);
}

IMPLEMENT_DYNAMIC_CHECK_FN()
IMPLEMENT_DYNAMIC_BIND_FN(snap_bind)
