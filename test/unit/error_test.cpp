// Error categories: libcurl's codes wrapped as they are, timeouts portable
// through boost::system::errc, curlasio::errc usable as an error_code.

#include <curlasio/error.hpp>

#include <boost/system/errc.hpp>
#include <boost/test/unit_test.hpp>

#include <curl/curl.h>

#include <cstring>
#include <set>
#include <string>
#include <system_error>

namespace bs = boost::system;
using curlasio::error_code;

BOOST_AUTO_TEST_SUITE(error_suite)

BOOST_AUTO_TEST_CASE(category_names) {
    BOOST_TEST(std::string(curlasio::curl_easy_category().name()) == "curl.easy");
    BOOST_TEST(std::string(curlasio::curl_multi_category().name()) == "curl.multi");
    BOOST_TEST(std::string(curlasio::curlasio_category().name()) == "curlasio");
    // One instance each, distinct from each other.
    BOOST_TEST((&curlasio::curl_easy_category() == &curlasio::curl_easy_category()));
    BOOST_TEST((curlasio::curl_easy_category() != curlasio::curl_multi_category()));
    BOOST_TEST((curlasio::curl_multi_category() != curlasio::curlasio_category()));
    BOOST_TEST((curlasio::curl_easy_category() != curlasio::curlasio_category()));
}

BOOST_AUTO_TEST_CASE(easy_messages_match_libcurl) {
    for (int v = CURLE_OK; v < CURL_LAST; ++v) {
        const auto c = static_cast<CURLcode>(v);
        const error_code ec = curlasio::make_error_code(c);
        BOOST_TEST_CONTEXT("CURLcode " << v) {
            BOOST_TEST(ec.value() == v);
            BOOST_TEST((ec.category() == curlasio::curl_easy_category()));
            BOOST_TEST(ec.message() == std::string(curl_easy_strerror(c)));
            char buf[512]; // room for any message: content, not truncation, is checked
            BOOST_TEST(std::string(ec.message(buf, sizeof buf)) == curl_easy_strerror(c));
            BOOST_TEST(static_cast<bool>(ec) == (v != CURLE_OK));
        }
    }
}

BOOST_AUTO_TEST_CASE(multi_messages_match_libcurl) {
    for (int v = CURLM_CALL_MULTI_PERFORM; v < CURLM_LAST; ++v) {
        const auto c = static_cast<CURLMcode>(v);
        const error_code ec = curlasio::make_error_code(c);
        BOOST_TEST_CONTEXT("CURLMcode " << v) {
            BOOST_TEST(ec.value() == v);
            BOOST_TEST((ec.category() == curlasio::curl_multi_category()));
            BOOST_TEST(ec.message() == std::string(curl_multi_strerror(c)));
            char buf[512]; // room for any message: content, not truncation, is checked
            BOOST_TEST(std::string(ec.message(buf, sizeof buf)) == curl_multi_strerror(c));
        }
    }
}

BOOST_AUTO_TEST_CASE(timeout_is_errc_timed_out) {
    const error_code ec = curlasio::make_error_code(CURLE_OPERATION_TIMEDOUT);
    BOOST_TEST((ec == bs::errc::timed_out));
    BOOST_TEST((ec == bs::errc::make_error_condition(bs::errc::timed_out)));
    BOOST_TEST((ec.default_error_condition() == bs::errc::make_error_condition(bs::errc::timed_out)));
    // Through the std interop too, for callers using std::errc.
    BOOST_TEST((std::error_code(ec) == std::errc::timed_out));

    // Only the timeout: nothing else in either libcurl category is a timeout.
    for (int v = CURLE_OK; v < CURL_LAST; ++v) {
        if (v == CURLE_OPERATION_TIMEDOUT)
            continue;
        BOOST_TEST_CONTEXT("CURLcode " << v) {
            BOOST_TEST((curlasio::make_error_code(static_cast<CURLcode>(v)) != bs::errc::timed_out));
        }
    }
    for (int v = CURLM_CALL_MULTI_PERFORM; v < CURLM_LAST; ++v)
        BOOST_TEST((curlasio::make_error_code(static_cast<CURLMcode>(v)) != bs::errc::timed_out));
    // The same number in another category is not a curl timeout.
    const error_code other(CURLE_OPERATION_TIMEDOUT, curlasio::curl_multi_category());
    BOOST_TEST((other != bs::errc::timed_out));
    BOOST_TEST((other != ec));
}

BOOST_AUTO_TEST_CASE(other_portable_conditions) {
    BOOST_TEST((curlasio::make_error_code(CURLE_OUT_OF_MEMORY) == bs::errc::not_enough_memory));
    BOOST_TEST((curlasio::make_error_code(CURLE_ABORTED_BY_CALLBACK) ==
                bs::errc::operation_canceled));
    BOOST_TEST((curlasio::make_error_code(CURLE_COULDNT_CONNECT) != bs::errc::connection_refused));
}

BOOST_AUTO_TEST_CASE(errc_messages) {
    using curlasio::errc;
    const errc all[] = {errc::invalid_request, errc::response_too_large, errc::out_of_resources,
                        errc::callback_threw,    errc::headers_too_large,  errc::request_too_large,
                        errc::engine_moved_from};
    const std::string unknown = curlasio::curlasio_category().message(9999);
    BOOST_TEST(!unknown.empty());
    std::set<std::string> messages;
    for (errc e : all) {
        const std::string msg = curlasio::make_error_code(e).message();
        BOOST_TEST_CONTEXT("errc " << static_cast<int>(e)) {
            BOOST_TEST(!msg.empty());
            BOOST_TEST(msg != unknown);
            BOOST_TEST(messages.insert(msg).second);
        }
    }
    BOOST_TEST(messages.size() == std::size(all));
}

BOOST_AUTO_TEST_CASE(errc_converts_to_error_code) {
    using curlasio::errc;
    const error_code made = curlasio::make_error_code(errc::response_too_large);
    BOOST_TEST(made.value() == static_cast<int>(errc::response_too_large));
    BOOST_TEST((made.category() == curlasio::curlasio_category()));

    error_code ec = errc::invalid_request; // implicit, through is_error_code_enum
    BOOST_TEST(static_cast<bool>(ec));
    BOOST_TEST(ec.value() == 1);
    BOOST_TEST((ec.category() == curlasio::curlasio_category()));
    BOOST_TEST((ec == errc::invalid_request));
    BOOST_TEST((ec != errc::callback_threw));

    ec = errc::callback_threw;
    BOOST_TEST((ec == curlasio::make_error_code(errc::callback_threw)));

    // Same value, different categories: not equal.
    BOOST_TEST((error_code(errc::invalid_request) !=
                curlasio::make_error_code(static_cast<CURLcode>(1))));
    BOOST_TEST((error_code(errc::invalid_request) !=
                curlasio::make_error_code(static_cast<CURLMcode>(1))));
}

BOOST_AUTO_TEST_SUITE_END()
