#ifndef CURLASIO_TEST_TOOLKIT_MEMORY_HPP
#define CURLASIO_TEST_TOOLKIT_MEMORY_HPP

// This process's resident memory, for the bounds the streaming tests state.
// Under a sanitizer the allocator keeps freed memory in quarantine and
// shadow memory grows with use: RSS then says nothing about the library, and
// the bounds are not asserted (the tests say so).

#include <unistd.h>

#include <cstddef>
#include <fstream>

namespace curlasio::test {

inline std::size_t rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

/// Samples the peak of rss_bytes() over the samples taken.
struct rss_peak {
    std::size_t start = rss_bytes();
    std::size_t peak = start;
    void sample() {
        const std::size_t now = rss_bytes();
        if (now > peak)
            peak = now;
    }
    double growth_mib() const { return double(peak - start) / (1024.0 * 1024.0); }
};

} // namespace curlasio::test

#endif
