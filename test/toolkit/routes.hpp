#ifndef CURLASIO_TEST_TOOLKIT_ROUTES_HPP
#define CURLASIO_TEST_TOOLKIT_ROUTES_HPP

// What the test server's routes answer, and how to address them.

#include <support/test_server.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstddef>
#include <string>
#include <string_view>

namespace curlasio::test {

/// The bytes of the test server's /bytes/<n> route: byte i is 'a' + i % 26.
inline std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + i % 26);
    return s;
}

/// FNV-1a 64 of pattern(n), as the /sink route answers it for those bytes.
inline std::uint64_t pattern_hash(std::uint64_t n) {
    static const std::string block = pattern(26 * 4096); // whole periods: blocks join up
    std::uint64_t h = fnv1a_offset;
    for (std::uint64_t at = 0; at < n;) {
        const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), n - at));
        h = fnv1a(h, std::string_view(block).substr(0, len));
        at += len;
    }
    return h;
}

/// What the /sink route answers for pattern(size) sent with `framing`
/// ("chunked" or "length").
inline std::string sink_answer(std::uint64_t size, const char* framing) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(pattern_hash(size)));
    return std::to_string(size) + " " + hex + " " + framing;
}

/// A /delay route the test server answers an hour after reading the request,
/// far beyond any wait of any test (the longest, under TSan, is 10 min). A
/// fetch of it that completed while a test ran completed before its response
/// was sent: the ordering that "completed within N ms" only approximated,
/// with no clock in the assertion.
inline constexpr std::string_view never_answered = "/delay/3600000";

/// Percent-encodes everything but letters, digits and "/.-", for a URL
/// carried in a query parameter (/redirect-to?url=, /raw?bytes=).
inline std::string encode(const std::string& s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '/' || c == '.' || c == '-') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0xF];
        }
    }
    return out;
}

} // namespace curlasio::test

#endif
