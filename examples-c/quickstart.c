#include <stdio.h>
#include "netrig.h"

/* Every fallible call returns a netrig_status; the text of the last error is per thread. */
#define CHECK(call)                                                                  \
    do {                                                                             \
        netrig_status st_ = (call);                                                  \
        if (st_ != NETRIG_OK) {                                                      \
            fprintf(stderr, "%s: %s\n", netrig_status_str(st_), netrig_last_error()); \
            return 1;                                                                \
        }                                                                            \
    } while (0)

int main(void) {
    netrig_store store;
    CHECK(netrig_store_new(NULL, &store));

    CHECK(netrig_store_set_str(store, "dut/1/state", "running", NETRIG_TTL_NEVER));
    CHECK(netrig_store_set_int(store, "dut/1/heartbeat", 1, 5000)); /* gone 5 s after the write */

    /* Update two keys atomically: readers see both or neither. */
    netrig_batch batch;
    CHECK(netrig_batch_new(&batch));
    netrig_value passed = { .kind = NETRIG_TYPE_INT, .i = 12 };
    netrig_value failed = { .kind = NETRIG_TYPE_INT, .i = 0 };
    CHECK(netrig_batch_set(batch, "dut/1/passed", &passed, NETRIG_TTL_DEFAULT));
    CHECK(netrig_batch_set(batch, "dut/1/failed", &failed, NETRIG_TTL_DEFAULT));
    CHECK(netrig_store_apply(store, batch));
    CHECK(netrig_batch_free(batch));

    int64_t n;
    CHECK(netrig_store_get_int(store, "dut/1/passed", &n, NULL));
    printf("dut/1/passed = %lld\n", (long long)n);

    /* Errors are specific and say what went wrong: */
    netrig_status s = netrig_store_get_int(store, "dut/1/state", &n, NULL);
    printf("%s: %s\n", netrig_status_str(s), netrig_last_error());
    /* -> NETRIG_E_TYPE: netrig_store_get_int: key 'dut/1/state' has type str, not int */
    if (s != NETRIG_E_TYPE) {
        fprintf(stderr, "quickstart: expected NETRIG_E_TYPE, got %s\n", netrig_status_str(s));
        return 1;
    }

    CHECK(netrig_store_free(store));
    return 0;
}
