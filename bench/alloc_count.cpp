// Counts this process's heap allocations: curlasio_bench defines the malloc
// family itself, each forwarding to glibc's own (__libc_malloc and friends),
// so every allocation of the client, libcurl, OpenSSL, libstdc++ (operator
// new calls malloc) and libc is counted with one relaxed atomic add. glibc
// supports replacing malloc this way ("Replacing malloc" in its manual);
// the heap itself stays glibc's. The counts are read before and after the
// measured run (bench.cpp), so start-up and tear-down are not in them.

#include "bench.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<unsigned long long> allocs{0};
std::atomic<unsigned long long> frees{0};

inline void count_alloc() noexcept { allocs.fetch_add(1, std::memory_order_relaxed); }
} // namespace

namespace bench {
alloc_counts allocations_so_far() noexcept {
    return {allocs.load(std::memory_order_relaxed), frees.load(std::memory_order_relaxed)};
}
} // namespace bench

extern "C" {

void* malloc(std::size_t n) {
    count_alloc();
    return __libc_malloc(n);
}

void* calloc(std::size_t n, std::size_t size) {
    count_alloc();
    return __libc_calloc(n, size);
}

void* realloc(void* p, std::size_t n) {
    count_alloc();
    return __libc_realloc(p, n);
}

void free(void* p) {
    if (p)
        frees.fetch_add(1, std::memory_order_relaxed);
    __libc_free(p);
}

void* memalign(std::size_t alignment, std::size_t n) {
    count_alloc();
    return __libc_memalign(alignment, n);
}

void* aligned_alloc(std::size_t alignment, std::size_t n) {
    count_alloc();
    return __libc_memalign(alignment, n);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    count_alloc();
    void* p = __libc_memalign(alignment, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

} // extern "C"
