#ifndef CURLASIO_TEST_TOOLKIT_CURL_VERSION_HPP
#define CURLASIO_TEST_TOOLKIT_CURL_VERSION_HPP

#include <curl/curl.h>

#include <cstdlib>
#include <iostream>
#include <string_view>

namespace curlasio::test {

// The libcurl a test run links at run time, printed first: the suite asserts
// what each version does, so a log must say which one it ran against. With
// CURLASIO_EXPECT_CURL_VERSION set (scripts/test.sh sets it for CURL=8), a
// run against another version stops here instead of passing for the wrong
// one (a stale cache, a missing rpath). A global fixture of every module.
struct report_curl_version {
    report_curl_version() {
        const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
        std::clog << "libcurl " << v->version << " (" << (v->ssl_version ? v->ssl_version : "no TLS")
                  << (v->features & CURL_VERSION_HTTP2 ? ", HTTP/2" : "") << "), built against "
                  << LIBCURL_VERSION << std::endl;
        const char* expected = std::getenv("CURLASIO_EXPECT_CURL_VERSION");
        if (expected && *expected && !std::string_view(v->version).starts_with(expected)) {
            std::clog << "expected libcurl " << expected << ": wrong library at run time" << std::endl;
            std::exit(2);
        }
    }
};

} // namespace curlasio::test

#endif
