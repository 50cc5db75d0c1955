/*
 * The plain C baseline benches/store.rs measures netrig against: what a C programmer writes in
 * an afternoon. One global pthread mutex around a chained hash map with FNV-1a keys; keys are
 * strdup'ed on insert and values updated in place. No sharding, no reader/writer lock, no
 * versions or TTLs: the single mutex is the point, it is what netrig's sharded store must beat
 * with two threads, and what its C ABI must stay close to with one.
 *
 * Compiled by build.rs (cc crate) and linked into bench targets only.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    uint64_t hash;
    char *key;
    int64_t value;
};

struct baseline {
    pthread_mutex_t lock;
    struct node **buckets;
    size_t mask; /* buckets - 1, a power of two minus one */
    size_t len;
};

static uint64_t fnv1a(const char *s) {
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* A map sized for `cap` keys at load factor <= 1; it does not grow (the benchmark knows its
 * key count), which only flatters the baseline. */
void *baseline_new(size_t cap) {
    struct baseline *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    size_t n = 16;
    while (n < cap)
        n <<= 1;
    b->buckets = calloc(n, sizeof *b->buckets);
    if (b->buckets == NULL || pthread_mutex_init(&b->lock, NULL) != 0) {
        free(b->buckets);
        free(b);
        return NULL;
    }
    b->mask = n - 1;
    return b;
}

static struct node *find(struct baseline *b, const char *key, uint64_t h) {
    for (struct node *n = b->buckets[h & b->mask]; n != NULL; n = n->next)
        if (n->hash == h && strcmp(n->key, key) == 0)
            return n;
    return NULL;
}

/* Returns 0, or -1 when out of memory. */
int baseline_set_int(void *map, const char *key, int64_t v) {
    struct baseline *b = map;
    uint64_t h = fnv1a(key);
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    struct node *n = find(b, key, h);
    if (n != NULL) {
        n->value = v;
    } else if ((n = malloc(sizeof *n)) != NULL && (n->key = strdup(key)) != NULL) {
        n->hash = h;
        n->value = v;
        n->next = b->buckets[h & b->mask];
        b->buckets[h & b->mask] = n;
        b->len++;
    } else {
        free(n);
        rc = -1;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* Returns 0 and writes *out, or -1 when the key is missing. */
int baseline_get_int(void *map, const char *key, int64_t *out) {
    struct baseline *b = map;
    uint64_t h = fnv1a(key);
    int rc = -1;
    pthread_mutex_lock(&b->lock);
    struct node *n = find(b, key, h);
    if (n != NULL) {
        *out = n->value;
        rc = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void baseline_free(void *map) {
    struct baseline *b = map;
    if (b == NULL)
        return;
    for (size_t i = 0; i <= b->mask; i++) {
        struct node *n = b->buckets[i];
        while (n != NULL) {
            struct node *next = n->next;
            free(n->key);
            free(n);
            n = next;
        }
    }
    pthread_mutex_destroy(&b->lock);
    free(b->buckets);
    free(b);
}
